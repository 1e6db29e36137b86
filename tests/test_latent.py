"""ganutils.latent.slerp at the endpoints where the textbook formula divides by sin(0) or sin(pi)."""

import numpy as np
import pytest

from ganutils import latent


def _textbook(a, b, ts):
    """White (2016)'s formula, the norm interpolated linearly, for endpoints neither equal nor opposite."""
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    omega = np.arccos(np.dot(a / na, b / nb))
    ts = np.asarray(ts)[:, None]
    unit = (np.sin((1 - ts) * omega) * a / na + np.sin(ts * omega) * b / nb) / np.sin(omega)
    return unit * ((1 - ts) * na + ts * nb)


def _angle(u, v):
    return np.arccos(np.clip(np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v), -1, 1))


def test_ordinary_endpoints_give_the_textbook_path():
    a, b = latent.truncated_normal(2, 64, seed=5)
    ts = np.linspace(0, 1, 7)
    np.testing.assert_allclose(latent.slerp(a, b, ts), _textbook(a.astype(float), b.astype(float), ts),
                               rtol=1e-5, atol=1e-5)
    assert latent.slerp(a, b, 0.5).shape == (64,)


def test_opposite_endpoints_follow_a_great_circle_through_a_documented_direction():
    z = latent.truncated_normal(1, 64, seed=6)[0].astype(np.float64)
    ts = np.linspace(0, 1, 9)
    path = latent.slerp(z, -z, ts).astype(np.float64)
    np.testing.assert_allclose(path[0], z, atol=1e-5)
    np.testing.assert_allclose(path[-1], -z, atol=1e-5)
    norm = np.linalg.norm(z)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), norm, rtol=1e-5)   # never through 0
    angles = [_angle(p, z) for p in path]
    np.testing.assert_allclose(angles, ts * np.pi, atol=1e-4)                   # at an even pace
    # the half-way point is z's norm times the documented direction: the axis where |z| is smallest,
    # made orthogonal to z
    k = int(np.argmin(np.abs(z)))
    e = np.zeros_like(z)
    e[k] = 1.0
    v = e - np.dot(e, z) / norm ** 2 * z
    np.testing.assert_allclose(path[4], norm * v / np.linalg.norm(v), atol=1e-5)
    np.testing.assert_array_equal(latent.slerp(z, -z, ts), latent.slerp(z, -z, ts))  # deterministic
    # norms still interpolate linearly when the opposite end is longer
    longer = latent.slerp(z, -3 * z, ts)
    np.testing.assert_allclose(np.linalg.norm(longer, axis=1), (1 + 2 * ts) * norm, rtol=1e-5)


def test_nearly_opposite_endpoints_still_end_at_b():
    z = latent.truncated_normal(2, 32, seed=7).astype(np.float64)
    b = -z[0] + 1e-9 * z[1]
    path = latent.slerp(z[0], b, np.linspace(0, 1, 5))
    np.testing.assert_allclose(path[-1], b, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(z[0]), rtol=1e-5)


def test_equal_directions_interpolate_the_norm_along_the_one_direction():
    z = latent.truncated_normal(1, 16, seed=8)[0]
    ts = np.linspace(0, 1, 5)
    np.testing.assert_allclose(latent.slerp(z, z, ts), np.repeat(z[None], 5, 0), rtol=1e-6)
    np.testing.assert_allclose(latent.slerp(z, 2 * z, ts), (1 + ts)[:, None] * z, rtol=1e-5)


def test_opposite_endpoints_in_one_dimension_have_no_great_circle():
    with pytest.raises(ValueError, match="one dimension"):
        latent.slerp([1.0], [-2.0], 0.5)
