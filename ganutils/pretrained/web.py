"""The shipped generators for a web page: ONNX files, and the directions of variation to play with.

- ``export_onnx(name, path)``: generator ``name`` (see :func:`ganutils.pretrained.available`) as an
  ONNX model, written through Keras' ``model.export(..., format="onnx")`` (tf2onnx >= 1.17). Its
  large weights are stored in float16 with a ``Cast`` to float32, so the file is about as small as
  the package's ``.npz``, and it computes in float32 (onnxruntime-web's WebAssembly backend is slow
  or incomplete in float16).
- ``sefa(generator, k)``: the generator's ``k`` main directions of variation in z-space, found
  without labels from the first layer's weights (SeFa: Shen & Zhou 2021, "Closed-form factorization
  of latent semantics in GANs", CVPR).
- ``name_directions(generator, directions)``: names a direction after a fixed image statistic
  (:data:`STATISTICS`) that follows it with ``|r| >= 0.7``; the others stay "direction k".

The book's Play page (``book/play.md``) runs these in the reader's browser with onnxruntime-web.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["export_onnx", "sefa", "name_directions", "STATISTICS", "MIN_R", "ALPHA"]

#: A direction is named after a statistic only if their correlation reaches this magnitude.
MIN_R = 0.7
#: Steps along a (unit) direction go from -ALPHA to ALPHA, in the units of z (|z| is about 10).
ALPHA = 4.0
#: Weight tensors with fewer values stay float32 in the ONNX file (they cost nothing).
_SMALL = 1024


def _lum(x):
    return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]


def _third(x):
    return x[:, : max(1, x.shape[1] // 3)]


#: Fixed image statistics a direction may be named after: name -> function of float images
#: ``[N, H, W, 3]`` in [-1, 1] giving ``[N]``. "warmth" is red minus blue.
STATISTICS = {
    "brightness": lambda x: _lum(x).mean(axis=(1, 2)),
    "contrast": lambda x: _lum(x).std(axis=(1, 2)),
    "saturation": lambda x: (x.max(axis=-1) - x.min(axis=-1)).mean(axis=(1, 2)),
    "warmth": lambda x: (x[..., 0] - x[..., 2]).mean(axis=(1, 2)),
    "top-third brightness": lambda x: _lum(_third(x)).mean(axis=(1, 2)),
    "top-third warmth": lambda x: (_third(x)[..., 0] - _third(x)[..., 2]).mean(axis=(1, 2)),
    "left vs right brightness": lambda x: (_lum(x[:, :, : x.shape[2] // 2]).mean(axis=(1, 2)) - _lum(
        x[:, :, (x.shape[2] + 1) // 2:]).mean(axis=(1, 2))),
}


def _to_float16(model, tolerance):
    """Store every float32 initializer of ``model`` (an ``onnx.ModelProto``) with at least
    :data:`_SMALL` values in float16, behind a ``Cast`` to float32, where float16 holds it to within
    ``tolerance`` of its largest magnitude. Returns the names of the tensors stored in float16."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph, casts, halved = model.graph, [], []
    keep = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < _SMALL:
            keep.append(init)
            continue
        w = numpy_helper.to_array(init)
        half = w.astype(np.float16)
        scale = float(np.abs(w).max())
        error = float(np.abs(half.astype(np.float32) - w).max()) / scale if scale > 0 else 0.0
        if not (np.isfinite(half).all() and error <= tolerance):
            keep.append(init)
            continue
        keep.append(numpy_helper.from_array(half, init.name + "__float16"))
        casts.append(helper.make_node("Cast", [init.name + "__float16"], [init.name],
                                      to=TensorProto.FLOAT, name=init.name + "__cast"))
        halved.append(init.name)
    del graph.initializer[:]
    graph.initializer.extend(keep)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)        # the casts first: the graph stays topologically sorted
    onnx.checker.check_model(model)
    return halved


def export_onnx(name, path):
    """Write shipped generator ``name`` as an ONNX model at ``path`` (a file; ``~`` is the home
    folder).

    The model takes ``z``: float32 ``[B, latent_dim]`` (standard normal, ``B`` free) and returns
    float32 images ``[B, S, S, 3]`` in [-1, 1] (channels last, BatchNorm in inference mode), as
    ``ganutils.pretrained.load(name)(z, training=False)`` does, to float32 rounding. Weight tensors
    are stored in float16 behind a ``Cast`` to float32 where float16 holds them as the package's
    ``.npz`` does (:data:`ganutils.pretrained.FLOAT16_TOLERANCE`); the graph computes in float32.

    Returns ``{"path", "bytes", "latent_dim", "size", "float16_weights"}`` (the names of the tensors
    stored in float16). Raises ``KeyError`` for an unknown name and ``ImportError`` (saying what to
    install) without ``tf2onnx`` >= 1.17 and ``onnx``.
    """
    try:
        import onnx
        import tf2onnx  # noqa: F401  (Keras' ONNX export runs through it)
    except ImportError as e:
        raise ImportError(f"export_onnx needs tf2onnx>=1.17 and onnx ({e}): "
                          "pip install 'tf2onnx>=1.17' onnx") from e
    from . import FLOAT16_TOLERANCE, card, load

    c = card(name)
    generator = load(name)
    latent_dim = int(c["latent_dim"])
    out = generator(np.zeros((1, latent_dim), np.float32), training=False)   # built before export
    path = Path(os.path.expanduser(os.fspath(path)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / f"{name}.onnx"
        generator.export(str(raw), format="onnx", verbose=False)
        model = onnx.load(str(raw))
    halved = _to_float16(model, FLOAT16_TOLERANCE)
    onnx.save(model, str(path))
    return {"path": str(path), "bytes": path.stat().st_size, "latent_dim": latent_dim,
            "size": int(out.shape[1]), "float16_weights": halved}


def _first_kernel(generator, latent_dim):
    for layer in generator.layers:
        for w in layer.weights:
            if "kernel" in w.name and latent_dim in tuple(w.shape):
                return np.asarray(w.numpy(), np.float64), layer
    raise ValueError(f"the generator has no layer with a kernel over the {latent_dim}-d latent "
                     "vector: SeFa needs the weights of the layer that reads z")


def sefa(generator, k=5, latent_dim=None):
    """The ``k`` main directions of variation of ``generator`` in z-space (SeFa; Shen & Zhou 2021).

    The first layer that reads z computes ``A z + b`` (a Dense layer, or a transposed convolution
    of a 1x1 map of z); moving z by ``a * v`` moves that layer's output by ``a * A v``, which is
    largest for the top right singular vectors of ``A`` (the eigenvectors of ``A^T A``).
    ``generator``: a Keras model whose input is ``[B, latent_dim]`` (``latent_dim`` read from it if
    not given). Returns ``(directions, singular_values)``: float32 ``[k, latent_dim]`` unit
    vectors, orthogonal, by decreasing singular value (float64 ``[k]``); each direction's sign
    makes its largest component positive. Raises ``ValueError`` if no layer's kernel has an axis of
    ``latent_dim`` or ``k`` exceeds it.
    """
    latent_dim = int(latent_dim or generator.inputs[0].shape[-1])
    if not 1 <= k <= latent_dim:
        raise ValueError(f"k must be in 1..{latent_dim}, got {k}")
    kernel, _ = _first_kernel(generator, latent_dim)
    axis = tuple(kernel.shape).index(latent_dim)
    if axis != kernel.ndim - 1 and kernel.shape[-1] == latent_dim:
        axis = kernel.ndim - 1   # a transposed convolution's input axis is its last
    a = np.moveaxis(kernel, axis, -1).reshape(-1, latent_dim)   # output values x z
    _, s, vt = np.linalg.svd(a, full_matrices=False)
    v = vt[:k]
    v *= np.sign(v[np.arange(k), np.abs(v).argmax(axis=1)])[:, None]
    return v.astype(np.float32), s[:k]


def name_directions(generator, directions, *, samples=256, seed=1, statistics=None):
    """Name each direction after the image statistic that follows it, or "direction k".

    ``generator``: a callable ``z -> images`` (float32 ``[B, latent_dim]`` -> ``[B, H, W, 3]`` in
    [-1, 1]); ``directions``: ``[k, latent_dim]`` unit vectors. Over ``samples`` latent vectors
    (``truncated_normal``, ``seed``), ``r`` is the correlation of a sample's coordinate along a
    direction (``z . v``) with a statistic of its image (:data:`STATISTICS` unless given):
    ``|r| >= 0.7`` means that one direction sets most of the statistic, whatever the other 99
    coordinates do. Names are given by decreasing ``|r|``, each at most once: a direction takes the name of its
    best statistic not yet taken if ``|r| >= MIN_R``, and is flipped if ``r < 0`` so that moving
    along it increases the statistic.

    Returns one dict per direction, in order: ``{"name", "statistic", "r", "vector"}``
    (``statistic``: the best free statistic's name even when below MIN_R; ``r``: its ``|r|``,
    rounded; ``vector``: float32 ``[latent_dim]``, flipped as said). Raises ``ValueError`` for a
    ``directions`` array that is not ``[k, latent_dim]``.
    """
    from ..latent import truncated_normal

    statistics = statistics or STATISTICS
    directions = np.asarray(directions, np.float32)
    if directions.ndim != 2:
        raise ValueError(f"directions must be [k, latent_dim], got shape {directions.shape}")
    z = truncated_normal(samples, directions.shape[1], None, seed=seed)
    x = np.asarray(generator(z), np.float64)
    coords = z.astype(np.float64) @ directions.T.astype(np.float64)          # [samples, k]
    stats = {s: np.asarray(fn(x), np.float64).reshape(-1) for s, fn in statistics.items()}
    r = np.array([[np.corrcoef(coords[:, i], stats[s])[0, 1] if stats[s].std() > 0 else 0.0
                   for s in statistics] for i in range(len(directions))])     # [k, statistics]
    names, taken = list(statistics), set()
    out = [None] * len(directions)
    for i in sorted(range(len(directions)), key=lambda i: -np.abs(r[i]).max()):
        free = [j for j in np.argsort(-np.abs(r[i])) if names[j] not in taken]
        j = free[0] if free else int(np.abs(r[i]).argmax())
        named = abs(r[i, j]) >= MIN_R and names[j] not in taken
        if named:
            taken.add(names[j])
        out[i] = {"name": names[j] if named else f"direction {i + 1}", "statistic": names[j],
                  "r": round(float(abs(r[i, j])), 3),
                  "vector": (np.sign(r[i, j]) or 1.0) * directions[i]}
    return out
