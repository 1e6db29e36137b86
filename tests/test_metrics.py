"""Tests for ganutils.metrics: SWD, Fréchet distance, KID, FID plumbing, factor distance."""

import json
import os

import numpy as np
import pytest
import scipy.ndimage

from ganutils import metrics as M
from ganutils.data import synthetic


@pytest.fixture(scope="module")
def faces():
    """Two independent samples of the embedded faces at 64 px (cheap: ~0.3 s)."""
    a, _ = synthetic("faces", 96, 64, seed=11)
    b, _ = synthetic("faces", 96, 64, seed=12)
    return a, b


# ------------------------------------------------------------------------------ to_uint8


def test_to_uint8_maps_tanh_range_and_passes_uint8_through():
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0], np.float32).reshape(1, 1, 5, 1).repeat(3, -1)
    out = M.to_uint8(x)
    assert out.dtype == np.uint8 and out.shape == (1, 1, 5, 3)
    np.testing.assert_array_equal(out[0, 0, :, 0], [0, 64, 128, 191, 255])  # round((x+1)*127.5)
    u = np.arange(48, dtype=np.uint8).reshape(1, 4, 4, 3)
    assert M.to_uint8(u) is u


def test_to_uint8_accepts_tf_tensor():
    import tensorflow as tf

    out = M.to_uint8(tf.fill([2, 4, 4, 3], 1.0))
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and (out == 255).all()


@pytest.mark.parametrize("bad, match", [
    (np.zeros((4, 4, 3), np.uint8), r"shape \[N, H, W, 3\]"),
    (np.zeros((2, 4, 4, 1), np.uint8), r"shape \[N, H, W, 3\]"),
    (np.full((2, 4, 4, 3), 255.0, np.float32), r"\[-1, 1\].*uint8"),
    (np.zeros((2, 4, 4, 3), np.int32), "dtype int32"),
    (np.full((2, 4, 4, 3), np.nan, np.float32), "NaN"),
])
def test_to_uint8_rejects_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        M.to_uint8(bad)


def test_to_uint8_is_one_definition_shared_with_viz():
    """Issue 11: viz and metrics had two converters that disagreed (viz clipped 0..255 floats to white and
    took int32 as floats); now there is one, with the union of the checks."""
    from ganutils import viz

    assert M.to_uint8 is viz.to_uint8
    for bad, match in ((np.full((2, 4, 4, 3), 255.0, np.float32), r"\[-1, 1\].*uint8"),
                       (np.zeros((2, 4, 4, 3), np.int32), "dtype int32"),
                       (np.full((1, 4, 4, 3), np.inf, np.float32), "NaN or inf")):
        with pytest.raises(ValueError, match=match):
            viz.grid(bad)
    # the pictures also take grey images (mid-grey samples: no warning for a generator's output)
    grey = viz.grid(np.zeros((4, 2, 2, 1), np.float32), pad=0, warn_positive=False)
    assert grey.shape == (4, 4, 1) and (grey == 128).all()
    one = viz.grid(np.ones((2, 2, 3), np.float32), pad=0, warn_positive=False)  # and one image [H, W, C]
    assert one.shape == (2, 2, 3) and (one == 255).all()


def test_to_uint8_accepts_bfloat16():
    import ml_dtypes

    x = np.array([-1.0, 0.0, 1.0], ml_dtypes.bfloat16).reshape(1, 1, 3, 1).repeat(3, -1)
    np.testing.assert_array_equal(M.to_uint8(x)[0, 0, :, 0], [0, 128, 255])


# ------------------------------------------------------------------------------ SWD


def test_pyramid_matches_reference_convolutions():
    """pyr_down / pyr_up equal the reference code's 2-D 5x5 convolutions (mirror borders)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (3, 20, 20, 3)).astype(np.float32)
    g = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]).astype(np.float32) / 256
    k4 = g[None, :, :, None]
    ref_down = scipy.ndimage.convolve(x, k4, mode="mirror")[:, ::2, ::2]
    np.testing.assert_allclose(M.sliced_wasserstein._pyr_down(x), ref_down, atol=1e-3)
    low = ref_down
    up = np.zeros((3, 20, 20, 3), np.float32)
    up[:, ::2, ::2] = low
    ref_up = scipy.ndimage.convolve(up, k4 * 4, mode="mirror")
    np.testing.assert_allclose(M.sliced_wasserstein._pyr_up(low, x.shape), ref_up, atol=1e-3)
    # A Laplacian pyramid reconstructs its image exactly.
    levels = M.sliced_wasserstein._laplacian_pyramid(x, 3)
    assert [lv.shape[1] for lv in levels] == [20, 10, 5]
    rec = levels[-1]
    for lv in levels[-2::-1]:
        rec = M.sliced_wasserstein._pyr_up(rec, lv.shape) + lv
    np.testing.assert_allclose(rec, x, atol=1e-3)


def test_sliced_wasserstein_equals_exact_sorting():
    """The uint16-quantised radix-sort shortcut matches float64 sorting."""
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, (3000, 20)).astype(np.float32)
    b = (rng.normal(0.2, 1.3, (3000, 20))).astype(np.float32)
    w = rng.normal(size=(20, 64)).astype(np.float32)
    w /= np.linalg.norm(w, axis=0)
    pa = np.sort(a.astype(np.float64) @ w, axis=0)
    pb = np.sort(b.astype(np.float64) @ w, axis=0)
    exact = np.abs(pa - pb).mean()
    assert M.sliced_wasserstein._sliced_wasserstein(a, b, w) == pytest.approx(exact, rel=1e-4)


def test_swd_identical_zero_and_deterministic(faces):
    a, b = faces
    assert M.swd(a, a) == 0.0  # default settings
    kw = dict(n_descriptors=16, n_projections=128)
    assert M.swd(a, a, max_descriptors=500, **kw) == 0.0
    v1, v2 = M.swd(a, b, seed=3, **kw), M.swd(a, b, seed=3, **kw)
    assert v1 == v2 > 0
    assert M.swd(a, b, seed=4, **kw) != v1
    # a cap above n_images x n_descriptors changes nothing; a lower one still measures
    assert M.swd(a, b, seed=3, max_descriptors=10**6, **kw) == v1
    assert 0 < M.swd(a, b, seed=3, max_descriptors=500, **kw) != v1
    # float [-1, 1] input gives the same number as its uint8 version
    assert M.swd(a.astype(np.float32) / 127.5 - 1, b, seed=3, **kw) == pytest.approx(v1, rel=1e-6)


def test_swd_grows_with_colour_shift_and_noise(faces):
    a, b = faces
    kw = dict(n_descriptors=64, n_projections=128)
    same = M.swd(a, b, **kw)
    shifted = np.clip(b.astype(np.int16) + np.array([40, 0, -40]), 0, 255).astype(np.uint8)
    assert M.swd(a, shifted, **kw) > 3 * same
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, b.shape)
    vals = [M.swd(a, np.clip(b + s * noise, 0, 255).astype(np.uint8), **kw) for s in (0, 10, 20, 40)]
    assert all(x < y for x, y in zip(vals, vals[1:])), vals


@pytest.mark.parametrize("size, levels", [(28, [28]), (64, [64, 32, 16]), (128, [128, 64, 32, 16])])
def test_swd_sizes(size, levels):
    a, _ = synthetic("faces", 20, size, seed=1)
    b, _ = synthetic("faces", 24, size, seed=2)  # unequal counts are fine
    avg, per = M.swd(a, b, n_descriptors=32, n_projections=128, return_per_level=True)
    assert sorted(per, reverse=True) == levels
    assert avg == pytest.approx(np.mean(list(per.values())))
    assert all(v > 0 for v in per.values())


def test_swd_errors(faces):
    a, b = faces
    with pytest.raises(ValueError, match="same size"):
        M.swd(a, b[:, :32, :32])
    with pytest.raises(ValueError, match="at least 16 real images"):
        M.swd(a[:8], b)
    tiny = np.zeros((20, 12, 12, 3), np.uint8)
    with pytest.raises(ValueError, match="at least 16 px"):
        M.swd(tiny, tiny)
    with pytest.raises(ValueError, match="patch_size"):
        M.swd(a, b, patch_size=6)


# ------------------------------------------------------------------------------ Fréchet / KID


def _random_cov(rng, d, rank=None):
    x = rng.normal(size=(d, rank or 2 * d))
    return x @ x.T / x.shape[1]


def test_frechet_distance_matches_eigen_computation():
    rng = np.random.default_rng(0)
    d = 12
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _random_cov(rng, d), _random_cov(rng, d)
    # Tr sqrt(s1 s2) = sum sqrt(eig(sqrt(s1) s2 sqrt(s1))), a symmetric PSD matrix
    w, v = np.linalg.eigh(s1)
    r1 = (v * np.sqrt(w)) @ v.T
    tr = np.sqrt(np.clip(np.linalg.eigvalsh(r1 @ s2 @ r1), 0, None)).sum()
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr
    assert M.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert abs(M.frechet_distance(mu1, s1, mu1, s1)) < 1e-8


def test_frechet_distance_diagonal_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)  # = 5 + 2
    assert M.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected)
    assert expected == pytest.approx(7.0)


def test_frechet_distance_singular_covariance_is_finite():
    rng = np.random.default_rng(1)
    d = 40
    s1, s2 = _random_cov(rng, d, rank=5), _random_cov(rng, d, rank=5)  # rank 5 of 40
    v = M.frechet_distance(np.zeros(d), s1, np.zeros(d), s2)
    assert np.isfinite(v) and v > 0
    # equals the eigen-route value on the eps-regularised matrices (tolerant: rank-deficient)
    w, q = np.linalg.eigh(s1)
    r1 = (q * np.sqrt(np.clip(w, 0, None))) @ q.T
    tr = np.sqrt(np.clip(np.linalg.eigvalsh(r1 @ s2 @ r1), 0, None)).sum()
    assert v == pytest.approx(np.trace(s1) + np.trace(s2) - 2 * tr, rel=1e-3, abs=1e-3)
    with pytest.raises(ValueError, match="sigma"):
        M.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def _kid_direct(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    m, n = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kyy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return kxx + kyy - 2 * kxy


def test_kid_matches_direct_computation():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(25, 6)), rng.normal(0.5, 1, size=(25, 6))
    assert M.kernel_inception_distance(x, y, subsets=1, subset_size=25) == pytest.approx(_kid_direct(x, y))
    # subsets: each is the same direct formula on a random subset
    v = M.kernel_inception_distance(x, y, subsets=3, subset_size=10, seed=5)
    rng2 = np.random.default_rng(5)
    subs = []
    for _ in range(3):
        subs.append(_kid_direct(x[rng2.choice(25, 10, replace=False)], y[rng2.choice(25, 10, replace=False)]))
    assert v == pytest.approx(np.mean(subs))


def test_kid_same_vs_shifted():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(300, 16)), rng.normal(size=(300, 16))
    same = M.kernel_inception_distance(x, y, subsets=5, subset_size=200)
    shifted = M.kernel_inception_distance(x, y + 0.5, subsets=5, subset_size=200)
    assert abs(same) < 0.05 < shifted
    with pytest.raises(ValueError, match="same d"):
        M.kernel_inception_distance(x, y[:, :3])


# ------------------------------------------------------------------------------ FID / KID on images


def _colour_features(images):
    """A stand-in for InceptionV3: per-channel mean and std of each image."""
    x = images.astype(np.float64) / 255
    return np.concatenate([x.mean(axis=(1, 2)), x.std(axis=(1, 2))], axis=1)


def test_fid_kid_with_feature_fn(faces):
    a, b = faces
    f_a, f_b = _colour_features(a), _colour_features(b)
    expected = M.frechet_distance(f_a.mean(0), np.cov(f_a, rowvar=False),
                                  f_b.mean(0), np.cov(f_b, rowvar=False))
    assert M.fid(a, b, feature_fn=_colour_features) == pytest.approx(expected)
    shifted = np.clip(b.astype(np.int16) + 50, 0, 255).astype(np.uint8)
    assert M.fid(a, shifted, feature_fn=_colour_features) > 5 * M.fid(a, b, feature_fn=_colour_features)
    kid_all = M.kid(a, b, feature_fn=_colour_features, subsets=1, subset_size=96)  # all rows, no sampling
    assert kid_all == pytest.approx(_kid_direct(f_a, f_b))
    assert M.kid(a, shifted, feature_fn=_colour_features) > M.kid(a, b, feature_fn=_colour_features)


def test_inception_features_resize_and_preprocess_with_stand_in_model():
    import keras

    inp = keras.Input((299, 299, 3))
    model = keras.Model(inp, keras.layers.GlobalAveragePooling2D()(inp))
    images = np.zeros((5, 40, 40, 3), np.uint8)
    images[1] = 255
    images[2, :, :, 0] = 255  # red
    feats = M.inception_features(images, batch_size=2, model=model)
    assert feats.shape == (5, 3) and feats.dtype == np.float64
    np.testing.assert_allclose(feats[0], [-1, -1, -1], atol=1e-5)  # preprocess_input: x / 127.5 - 1
    np.testing.assert_allclose(feats[1], [1, 1, 1], atol=1e-5)
    np.testing.assert_allclose(feats[2], [1, -1, -1], atol=1e-5)


def test_fid_offline_raises_clear_error(monkeypatch, tmp_path):
    """No cached weights + failed download -> RuntimeError explaining what to do (no internet used)."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("GANBOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(M.inception, "_INCEPTION", None)
    # port 9 on localhost: the connection is refused at once, nothing leaves the machine
    monkeypatch.setattr(M.inception, "INCEPTION_WEIGHTS_URL", "http://127.0.0.1:9/inception_notop.h5")
    monkeypatch.setattr("ganutils.data.fetch._RETRY_DELAY", 0.0)
    imgs = np.zeros((4, 32, 32, 3), np.uint8)
    with pytest.raises(RuntimeError, match="ImageNet weights of InceptionV3") as err:
        M.fid(imgs, imgs)
    msg = str(err.value)
    assert "Colab" in msg and str(tmp_path / "cache" / "models" / M.INCEPTION_WEIGHTS_FILE) in msg
    assert str(tmp_path / "keras" / "models" / M.INCEPTION_WEIGHTS_FILE) in msg

    from ganutils.data import fetch

    def no_fetch(*a, **k):
        raise OSError("network is unreachable")

    monkeypatch.setattr(fetch, "download", no_fetch)
    with pytest.raises(RuntimeError, match="network is unreachable"):
        M.kid(imgs, imgs)


def test_inception_weights_come_through_the_one_downloader(monkeypatch, tmp_path):
    """ganutils.data.download fetches the weights into the one cache root and checks Keras' MD5; a copy
    Keras already has is used when its digest matches, and an HTML error page is refused."""
    import hashlib
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    weights = b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8  # HDF5 signature: what the name .h5 promises
    served = {"body": weights, "count": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            served["count"] += 1
            self.send_response(200)
            self.send_header("Content-Length", str(len(served["body"])))
            self.end_headers()
            self.wfile.write(served["body"])

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
        monkeypatch.setenv("GANBOOK_CACHE", str(tmp_path / "cache"))
        url = f"http://127.0.0.1:{httpd.server_address[1]}/w.h5"
        monkeypatch.setattr(M.inception, "INCEPTION_WEIGHTS_URL", url)
        monkeypatch.setattr(M.inception, "INCEPTION_WEIGHTS_MD5", hashlib.md5(weights).hexdigest())
        path = M.inception._inception_weights()
        assert path == tmp_path / "cache" / "models" / M.INCEPTION_WEIGHTS_FILE
        assert path.read_bytes() == weights
        assert M.inception._inception_weights() == path and served["count"] == 1  # cached
        keras_copy = tmp_path / "keras" / "models" / M.INCEPTION_WEIGHTS_FILE
        keras_copy.parent.mkdir(parents=True)
        keras_copy.write_bytes(weights)
        assert M.inception._inception_weights() == keras_copy and served["count"] == 1
        keras_copy.write_bytes(b"another file")  # wrong digest: not used
        assert M.inception._inception_weights() == path
        path.unlink()
        served["body"] = b"<!DOCTYPE html><html><title>Sign in</title></html>"
        with pytest.raises(RuntimeError, match="an HTML page titled 'Sign in'"):
            M.inception._inception_weights()
        assert not path.exists()
    finally:
        httpd.shutdown()
        httpd.server_close()


# ------------------------------------------------------------------------------ factor coverage


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """The real faces classifier, trained once into a temporary cache (the slow part: ~10 s)."""
    cache = tmp_path_factory.mktemp("ganbook_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANBOOK_CACHE", str(cache))
        clf = M.FactorClassifier("faces", 64)
        yield clf, cache


def test_classifier_held_out_accuracy(classifier):
    clf, _ = classifier
    bal = clf.balanced_accuracy(n=500)  # rendered at the real 64 px, unseen seed
    for k in M.COVERAGE_FACTORS["faces"]:
        assert bal[k] >= 0.85, (k, bal)  # measured 0.96-0.99
    acc = clf.evaluate(n=500)
    assert acc["skin_tone"] < 0.15  # mean absolute error of a continuous head (chance ~0.33)


def test_classifier_cache_is_used(classifier, monkeypatch):
    clf, cache = classifier
    monkeypatch.setenv("GANBOOK_CACHE", str(cache))
    assert clf.weights_path == cache / "factor_classifiers" / "faces_64_v1.weights.h5"
    assert clf.weights_path.exists()

    def no_training(self):
        raise AssertionError("trained again instead of loading the cache")

    monkeypatch.setattr(M.FactorClassifier, "_train", no_training)
    again = M.FactorClassifier("faces", 64)   # loads the cache (no_training fails the test otherwise)
    imgs, _ = synthetic("faces", 32, 64, seed=5)
    for k, v in clf.predict_proba(imgs).items():
        np.testing.assert_allclose(again.predict_proba(imgs)[k], v, atol=1e-5)


def test_classifier_retrains_when_dataset_changes(classifier, monkeypatch):
    _, cache = classifier
    monkeypatch.setenv("GANBOOK_CACHE", str(cache))
    meta_path = cache / "factor_classifiers" / "faces_64_v1.json"
    meta = json.loads(meta_path.read_text())
    calls = []
    monkeypatch.setattr(M.FactorClassifier, "_train", lambda self: calls.append(1))
    monkeypatch.setattr(M.FactorClassifier, "_write", lambda self, fp: None)
    M.FactorClassifier("faces", 64)
    assert calls == []
    meta_path.write_text(json.dumps(dict(meta, fingerprint="0000")))
    try:
        M.FactorClassifier("faces", 64)
    finally:
        meta_path.write_text(json.dumps(meta))
    assert calls == [1]


def test_factor_distance_real_low_collapsed_high(classifier):
    clf, _ = classifier
    held, factors = synthetic("faces", 600, 64, seed=21)
    real = M.factor_distance(held, "faces", classifier=clf)
    assert real < 0.1
    collapsed = M.factor_distance(np.repeat(held[:5], 100, axis=0), "faces", classifier=clf)
    assert collapsed > 0.25 and collapsed > 4 * real
    brown = held[factors["hair_color"] == 1]  # only brown hair
    d = M.factor_distance(brown, "faces", classifier=clf, return_details=True)
    assert d["factors"]["hair_color"]["tv"] > 0.5
    assert d["score"] > 2 * real
    # details are consistent with the score
    assert d["used"] == list(M.COVERAGE_FACTORS["faces"])
    for k, f in d["factors"].items():
        assert sum(f["fake"]) == pytest.approx(1) and sum(f["real"]) == pytest.approx(1)
        assert f["tv"] == pytest.approx(0.5 * np.abs(np.subtract(f["fake"], f["real"])).sum())
    assert d["score"] == pytest.approx(np.mean([d["factors"][k]["tv"] for k in d["used"]]))
    # with real images as the reference
    other, _ = synthetic("faces", 400, 64, seed=22)
    assert M.factor_distance(held, "faces", real=other, classifier=clf) < 0.1


def test_factor_distance_errors(classifier):
    clf, _ = classifier
    imgs, _ = synthetic("faces", 4, 64, seed=1)
    with pytest.raises(ValueError, match="factor_distance: classifier is for 'faces', not 'anime'"):
        M.factor_distance(imgs, "anime", classifier=clf)
    with pytest.raises(ValueError, match="unknown kind 'cats'"):
        M.FactorClassifier("cats")


def test_factor_coverage_is_the_documented_old_name_of_factor_distance(classifier):
    """Issue 14: 'coverage' read backwards (0 is best); factor_distance is the name, factor_coverage stays for
    old code with the same computation and return structure."""
    clf, _ = classifier
    held, _ = synthetic("faces", 200, 64, seed=23)
    fakes = np.repeat(held[:10], 20, axis=0)
    new = M.factor_distance(fakes, "faces", real=held, classifier=clf, return_details=True)
    old = M.factor_coverage(fakes, "faces", real=held, classifier=clf, return_details=True)
    assert old == new and new["score"] > 0.1
    assert M.factor_coverage(fakes, "faces", real=held, classifier=clf) == new["score"]
    assert "factor_distance" in M.factor_coverage.__doc__ and "factor_distance" in M.__all__


# ------------------------------------------------------------------------------ make_metric


def test_make_metric_swd_and_fid(faces):
    a, b = faces
    m = M.make_metric("swd", a, n_descriptors=32, n_projections=128)
    assert m.__name__ == "swd"
    assert m(b) == M.swd(a, b, n_descriptors=32, n_projections=128)
    assert m(b.astype(np.float32) / 127.5 - 1) == pytest.approx(m(b), rel=1e-6)
    f = M.make_metric("fid", a, feature_fn=_colour_features)
    assert f(b) == pytest.approx(M.fid(a, b, feature_fn=_colour_features))


def test_make_metric_factor_distance(classifier, monkeypatch):
    _, cache = classifier
    monkeypatch.setenv("GANBOOK_CACHE", str(cache))  # the trained classifier is loaded, not retrained
    monkeypatch.setattr(M.FactorClassifier, "_train", lambda self: pytest.fail("retrained"))
    real, _ = synthetic("faces", 300, 64, seed=31)
    fake, _ = synthetic("faces", 200, 64, seed=32)
    m = M.make_metric("factor_distance:faces", real)
    assert m.__name__ == "factor_distance:faces"
    clf = M._classifier("faces", 64)
    assert m(fake) == pytest.approx(M.factor_distance(fake, "faces", real=real, classifier=clf))
    old = M.make_metric("coverage:faces", real)  # the old name still works
    assert old.__name__ == "coverage:faces" and old(fake) == m(fake)
    m2 = M.make_metric("factor_distance:faces", size=64)
    assert m2(fake) == pytest.approx(M.factor_distance(fake, "faces", classifier=clf))
    assert m2(np.repeat(fake[:3], 60, axis=0)) > m2(fake) + 0.15


def test_make_metric_errors():
    with pytest.raises(ValueError, match="unknown metric 'lpips'"):
        M.make_metric("lpips", np.zeros((2, 16, 16, 3), np.uint8))
    with pytest.raises(ValueError, match="unknown factor_distance kind 'cats'"):
        M.make_metric("factor_distance:cats")
    with pytest.raises(ValueError, match="unknown coverage kind 'cats'"):
        M.make_metric("coverage:cats")
    with pytest.raises(ValueError, match="needs real_images"):
        M.make_metric("swd")
    real = np.zeros((16, 16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="n_patches"):
        M.make_metric("swd", real, n_patches=3)
    with pytest.raises(ValueError, match="subsets"):
        M.make_metric("fid", real, subsets=3)
    with pytest.raises(ValueError, match="takes only size"):
        M.make_metric("coverage:faces", real, n=3)


def test_import_is_cheap():
    """numpy/scipy only at import: TensorFlow must not be pulled in by ganutils.metrics."""
    import subprocess
    import sys

    code = "import sys, ganutils.metrics; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.split() == ["False", "False"]


def test_metrics_is_a_package_of_one_module_per_family():
    """Issue 11: metrics.py split into sliced_wasserstein, inception and factors; the public names stay."""
    assert M.swd is M.sliced_wasserstein.swd and callable(M.swd)
    assert M.fid is M.inception.fid and M.kid is M.inception.kid
    assert M.frechet_distance is M.inception.frechet_distance
    assert M.factor_coverage is M.factors.factor_coverage and M.FactorClassifier is M.factors.FactorClassifier
    assert set(M.__all__) <= set(dir(M))
