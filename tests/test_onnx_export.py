"""The shipped generators as ONNX for the book's Play page (issue 24): ``pretrained.export_onnx``
run by the ``onnxruntime`` Python package must draw what the Keras generator draws, and the
directions of variation (SeFa) and their names must be what ``ganutils.pretrained.web`` says they
are."""

import numpy as np
import pytest

from ganutils import pretrained
from ganutils.latent import truncated_normal
from ganutils.pretrained import web
from ganutils.viz import to_uint8

ort = pytest.importorskip("onnxruntime", reason="pip install -r requirements.txt (onnxruntime)")
onnx = pytest.importorskip("onnx", reason="pip install -r requirements.txt (onnx, tf2onnx>=1.17)")


@pytest.mark.parametrize("name", pretrained.available())
def test_onnx_generator_draws_what_keras_draws_within_2_of_255(name, tmp_path):
    info = web.export_onnx(name, tmp_path / f"{name}.onnx")
    c = pretrained.card(name)
    z = truncated_normal(16, c["latent_dim"], None, seed=5)
    session = ort.InferenceSession(info["path"], providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["z"]
    y = session.run(None, {"z": z})[0]
    keras_y = pretrained.load(name)(z, training=False).numpy()
    assert y.shape == keras_y.shape == (16, info["size"], info["size"], 3)
    diff = np.abs(to_uint8(y).astype(int) - to_uint8(keras_y).astype(int)).max()
    print(f"{name}: {info['bytes'] / 2**20:.2f} MB, max pixel difference ONNX vs Keras {diff}/255")
    assert diff <= 2
    # float16 weights behind a Cast, float32 compute: as small as the package's .npz (not twice it)
    model = onnx.load(info["path"])
    halves = [i for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT16]
    assert halves and len(halves) == len(info["float16_weights"])
    casts = {n.op_type for n in model.graph.node if n.output[0] in info["float16_weights"]}
    assert casts == {"Cast"}
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert info["bytes"] < 1.25 * c["bytes"]


def test_sefa_finds_the_dominant_direction_of_the_first_layer():
    import keras
    rng = np.random.default_rng(0)
    dim = 8
    main = rng.standard_normal(dim)
    main /= np.linalg.norm(main)
    # a first layer that stretches z along `main` 10x more than along anything else
    kernel = (np.eye(dim) + 9.0 * np.outer(main, main)) @ rng.standard_normal((dim, 16)) * 0.1
    z = keras.Input((dim,))
    dense = keras.layers.Dense(16)
    model = keras.Model(z, keras.layers.Dense(3)(dense(z)))
    u, s, vt = np.linalg.svd(kernel.T, full_matrices=False)
    dense.set_weights([kernel.astype(np.float32), np.zeros(16, np.float32)])
    v, sv = web.sefa(model, 3)
    assert v.shape == (3, dim) and v.dtype == np.float32
    np.testing.assert_allclose(v @ v.T, np.eye(3), atol=1e-5)
    np.testing.assert_allclose(sv, s[:3], rtol=1e-5)
    assert abs(float(v[0] @ vt[0])) > 1 - 1e-5
    with pytest.raises(ValueError):
        web.sefa(model, dim + 1)


def test_sefa_reads_a_transposed_convolution_of_a_1x1_map():
    import keras
    dim = 6
    z = keras.Input((dim,))
    conv = keras.layers.Conv2DTranspose(5, 2)
    model = keras.Model(z, conv(keras.layers.Reshape((1, 1, dim))(z)))
    kernel = conv.get_weights()[0]                     # [2, 2, 5, dim]
    v, sv = web.sefa(model, 2)
    a = kernel.reshape(-1, dim)
    assert np.linalg.norm(a @ v[0]) == pytest.approx(sv[0], rel=1e-5)
    assert sv[0] == pytest.approx(np.linalg.svd(a, compute_uv=False)[0], rel=1e-5)


def test_a_direction_is_named_only_after_a_statistic_it_sets():
    dim = 10
    bright, other = np.eye(dim)[0], np.eye(dim)[1]

    def generator(z):          # brightness follows z[0]; nothing follows z[1]
        level = np.tanh(0.3 * z[:, 0])[:, None, None, None]
        return np.broadcast_to(level, (len(z), 4, 4, 3)).astype(np.float32)

    named = web.name_directions(generator, np.stack([-bright, other]))
    assert named[0]["name"] == "brightness" and named[0]["r"] >= web.MIN_R
    np.testing.assert_allclose(named[0]["vector"], bright)     # flipped: along it, brighter
    assert named[1]["name"] == "direction 2" and named[1]["r"] < web.MIN_R
    # one name at most once: the weaker of two brightness directions stays "direction k"
    stats = {k: web.STATISTICS[k] for k in ("brightness", "warmth")}
    twice = web.name_directions(generator, np.stack([bright, (bright + 0.3 * other) / 1.044]),
                                statistics=stats)
    assert [d["name"] for d in twice] == ["brightness", "direction 2"]
