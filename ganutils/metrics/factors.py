"""Mode collapse as a number: a small classifier reads the generating factors (hair colour, iris colour,
...) back from images of an embedded kind, and ``factor_distance`` compares the fakes' factor histograms with
the data's (0 = the data's mix; ``factor_coverage`` is its old name). TensorFlow/Keras are imported only
when a classifier is built.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .._atomic import replacing, write_json
from ._common import _fake, _real

__all__ = ["FactorClassifier", "factor_distance", "factor_coverage", "COVERAGE_FACTORS"]


#: Categorical factors that enter ``factor_distance``: those the small classifier reads
#: reliably at 32 px (balanced held-out accuracy >= 0.9 when measured, most >= 0.96). Too
#: small or subtle to count: faces' iris colour, face shape and glasses (thin lines), eyes'
#: shape and make-up, anime mouths; their heads are still trained and shown in the details.
COVERAGE_FACTORS = {
    "faces": ("hair_color", "hair_style", "background"),
    "eyes": ("iris_color", "brow_color"),
    "anime": ("hair_color", "eye_color", "hair_style", "bangs", "blush"),
}
_CLASSIFIERS = {}


def _cache_root() -> Path:
    """The cache root of ganutils: ``ganutils.data.fetch.cache_dir()`` ($GANBOOK_CACHE, ~/.cache/ganbook)."""
    from ..data.fetch import cache_dir
    return cache_dir()


def _procedural():
    from ganutils.data import procedural  # lazy: only coverage needs the renderer
    return procedural


class FactorClassifier:
    """A small Keras CNN that reads the generating factors back from an embedded-dataset image.

    One softmax head per categorical factor of ``FACTORS[kind]`` and one sigmoid head per
    continuous factor, trained for a few epochs on ``synthetic(kind, 4000, ...)`` seen at
    32 px (``size`` if smaller). Training takes seconds on a CPU; the weights are then
    cached in ``$GANBOOK_CACHE/factor_classifiers/{kind}_{size}_v1.weights.h5`` (default
    ``~/.cache/ganbook``) with a JSON note holding a fingerprint of the renderer, so later
    calls load in a fraction of a second and a changed renderer triggers retraining.
    Above 64 px the training images are rendered at 64 px (same pixels after the resize
    to 32 px, 4x cheaper); ``evaluate`` measures accuracy at the real size.
    """

    VERSION = 1
    N_TRAIN = 4000
    EPOCHS = 4
    BATCH = 64
    INTERNAL = 32
    TRAIN_SEED, EVAL_SEED, REF_SEED = 7001, 7002, 7003
    N_REF = 2000

    def __init__(self, kind, size=None, *, cache=True, verbose=False):
        proc = _procedural()
        if kind not in proc.KINDS:
            raise ValueError(f"unknown kind {kind!r}: expected one of {', '.join(proc.KINDS)}")
        size = proc.DEFAULT_SIZE[kind] if size is None else size
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 8 <= size <= 512:
            raise ValueError(f"size must be an int in [8, 512], got {size!r}")
        self.kind, self.size = kind, int(size)
        self.internal = min(self.INTERNAL, self.size)
        self.categories = {k: list(v) for k, v in proc.FACTORS[kind].items() if v}
        self.continuous = [k for k, v in proc.FACTORS[kind].items() if not v]
        self.verbose = verbose
        self.train_seconds = None
        self._ref = None
        self.model = self._build()
        folder = _cache_root() / "factor_classifiers"
        self.weights_path = folder / f"{kind}_{self.size}_v{self.VERSION}.weights.h5"
        self._meta_path = folder / f"{kind}_{self.size}_v{self.VERSION}.json"
        fingerprint = self._fingerprint()
        meta = self._read_meta() if cache else None
        if meta is not None and meta.get("fingerprint") == fingerprint and self.weights_path.exists():
            try:
                self.model.load_weights(str(self.weights_path))
                self._ref = meta.get("reference")
                self.train_seconds = meta.get("train_seconds")
                return
            except Exception:  # truncated / incompatible file: retrain below
                pass
        t0 = time.perf_counter()
        self._train()
        self.train_seconds = time.perf_counter() - t0
        if cache:
            self._write(fingerprint)

    # -- construction ------------------------------------------------------------------

    def _build(self):
        import keras

        r, seed = self.internal, 1234
        x = inp = keras.Input((r, r, 3))
        for i, ch in enumerate((16, 32, 64)):
            x = keras.layers.Conv2D(ch, 3, strides=2, padding="same", use_bias=False,
                                    kernel_initializer=keras.initializers.GlorotUniform(seed + i))(x)
            x = keras.layers.BatchNormalization(momentum=0.9)(x)  # 0.9: stats settle in few steps
            x = keras.layers.ReLU()(x)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(128, activation="relu",
                               kernel_initializer=keras.initializers.GlorotUniform(seed + 10))(x)
        outs = {k: keras.layers.Dense(len(v), activation="softmax", name=k)(x)
                for k, v in self.categories.items()}
        outs.update({k: keras.layers.Dense(1, activation="sigmoid", name=k)(x) for k in self.continuous})
        return keras.Model(inp, outs, name=f"factor_classifier_{self.kind}")

    def _fingerprint(self):
        """Hash of a few tiny renders and the factor table: changes when the dataset does."""
        import hashlib

        proc = _procedural()
        imgs, _ = proc.synthetic(self.kind, 4, 16, seed=1)
        h = hashlib.sha1(imgs.tobytes())
        h.update(repr(sorted(proc.FACTORS[self.kind].items())).encode())
        return h.hexdigest()[:16]

    def _train(self):
        images, factors = _procedural().synthetic(self.kind, self.N_TRAIN, min(self.size, 64),
                                                  seed=self.TRAIN_SEED)
        import keras

        x = self._prepare(images)
        y = {k: factors[k] for k in list(self.categories) + self.continuous}
        steps = self.EPOCHS * -(-len(x) // self.BATCH)
        # Cosine decay to 0: the last steps settle the weights (and BatchNorm statistics),
        # which makes held-out accuracy stable from run to run.
        self.model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(3e-3, steps)),
                           loss={k: "sparse_categorical_crossentropy" if k in self.categories else "mse"
                                 for k in y})
        self.model.fit(x, y, batch_size=self.BATCH, epochs=self.EPOCHS, shuffle=False,
                       verbose=2 if self.verbose else 0)

    def _read_meta(self):
        import json

        try:
            return json.loads(self._meta_path.read_text())
        except (OSError, ValueError):
            return None

    def _write(self, fingerprint):
        """Save weights, then the JSON note (atomically: parallel notebooks may race)."""
        import warnings

        folder = self.weights_path.parent
        try:
            with replacing(self.weights_path, suffix=".weights.h5") as tmp_w:  # Keras insists on the suffix
                with warnings.catch_warnings():  # Keras 3.15 + numpy 2.4 "__array__ copy" noise
                    warnings.filterwarnings("ignore", message="__array__ implementation",
                                            category=DeprecationWarning)
                    self.model.save_weights(str(tmp_w))
            self._write_meta(fingerprint)
        except OSError as e:  # read-only home etc.: keep the trained model, skip the cache
            warnings.warn(f"could not cache the factor classifier in {folder}: {e}")

    def _write_meta(self, fingerprint=None):
        fingerprint = fingerprint or (self._read_meta() or {}).get("fingerprint")
        write_json(self._meta_path, {"kind": self.kind, "size": self.size, "version": self.VERSION,
                                     "fingerprint": fingerprint, "train_seconds": self.train_seconds,
                                     "reference": self._ref})

    # -- use -----------------------------------------------------------------------------

    def _prepare(self, images):
        """uint8 / [-1, 1] images -> float32 [N, r, r, 3] in [0, 1] at the internal size (floats outside
        [-1.05, 1.05] raise ``ValueError``; callers that take the reader's images check them first)."""
        images = _fake(images, "FactorClassifier's images")
        if images.shape[1] != images.shape[2]:
            raise ValueError(f"FactorClassifier: images must be square, got {images.shape[1:3]}")
        x = images.astype(np.float32) / 255.0
        if x.shape[1] != self.internal:
            import tensorflow as tf
            x = tf.image.resize(x, (self.internal, self.internal), method="area").numpy()
        return x

    def predict_proba(self, images, batch_size=512) -> dict:
        """Per factor: class probabilities [N, k] (categorical) or a value in [0, 1] [N], for square images
        ``[N, S, S, 3]``, uint8 (0..255) or floats in [-1, 1] (``ValueError`` outside [-1.05, 1.05])."""
        x = self._prepare(images)
        outs = {k: [] for k in list(self.categories) + self.continuous}
        for a in range(0, len(x), batch_size):
            y = self.model(x[a: a + batch_size], training=False)
            for k in outs:
                outs[k].append(np.asarray(y[k]))
        res = {}
        for k, v in outs.items():
            width = len(self.categories[k]) if k in self.categories else 1
            arr = np.concatenate(v) if v else np.zeros((0, width), np.float32)
            res[k] = arr if k in self.categories else arr[:, 0]
        return res

    def predict(self, images, batch_size=512) -> dict:
        """Per factor: int64 category codes (categorical) or float32 values in [0, 1]."""
        p = self.predict_proba(images, batch_size)
        return {k: (v.argmax(axis=1).astype(np.int64) if k in self.categories else v.astype(np.float32))
                for k, v in p.items()}

    def evaluate(self, n=1000, seed=None) -> dict:
        """Held-out accuracy (categorical) / mean absolute error (continuous) per factor,
        on ``n`` fresh images rendered at the classifier's real size."""
        images, factors = _procedural().synthetic(self.kind, n, self.size,
                                                  seed=self.EVAL_SEED if seed is None else seed)
        pred = self.predict(images)
        return {k: float(np.mean(pred[k] == factors[k])) if k in self.categories
                else float(np.mean(np.abs(pred[k] - factors[k]))) for k in pred}

    def balanced_accuracy(self, n=1000, seed=None) -> dict:
        """Mean per-category recall of each categorical head (chance = 1 / categories):
        unlike accuracy it is not flattered by a dominant category (76 % of faces wear no glasses)."""
        images, factors = _procedural().synthetic(self.kind, n, self.size,
                                                  seed=self.EVAL_SEED if seed is None else seed)
        pred = self.predict(images)
        out = {}
        for k, cats in self.categories.items():
            recalls = [np.mean(pred[k][factors[k] == c] == c)
                       for c in range(len(cats)) if np.any(factors[k] == c)]
            out[k] = float(np.mean(recalls))
        return out

    def histograms(self, images) -> dict:
        """Per categorical factor: the fraction of ``images`` classified into each category."""
        pred = self.predict(images)
        return {k: np.bincount(pred[k], minlength=len(c)) / max(len(pred[k]), 1)
                for k, c in self.categories.items()}

    def reference_histograms(self) -> dict:
        """Histograms of ``N_REF`` fresh synthetic images (seen through this classifier, so
        its confusions cancel against the fakes'); computed once, then cached."""
        if self._ref is None:
            images, _ = _procedural().synthetic(self.kind, self.N_REF, min(self.size, 64), seed=self.REF_SEED)
            self._ref = {k: v.tolist() for k, v in self.histograms(images).items()}
            if self._meta_path.exists():
                try:
                    self._write_meta()
                except OSError:
                    pass
        return {k: np.asarray(v) for k, v in self._ref.items()}


def _classifier(kind, size):
    """One FactorClassifier per (kind, size, cache dir) per process."""
    key = (kind, int(size), str(_cache_root()))
    if key not in _CLASSIFIERS:
        _CLASSIFIERS[key] = FactorClassifier(kind, size)
    return _CLASSIFIERS[key]


def _coverage(h_fake, h_real, clf, n_fake, reference, return_details):
    used = COVERAGE_FACTORS[clf.kind]
    per = {}
    for k, cats in clf.categories.items():
        tv = 0.5 * float(np.abs(h_fake[k] - h_real[k]).sum())
        per[k] = {"categories": cats, "fake": np.asarray(h_fake[k]).tolist(),
                  "real": np.asarray(h_real[k]).tolist(), "tv": tv, "used": k in used}
    score = float(np.mean([per[k]["tv"] for k in used]))
    if not return_details:
        return score
    return {"score": score, "factors": per, "used": list(used), "n_fake": int(n_fake), "reference": reference}


def factor_distance(fake, kind, *, real=None, classifier=None, return_details=False):
    """Mode collapse as a number: how far the fakes' factor histograms are from the data's (0 = the same mix).

    A ``FactorClassifier`` reads the categorical factors (hair colour, glasses, ...) of
    every fake (``fake``: uint8 ``[N, H, W, 3]`` or floats in [-1, 1], square, N >= 1); per factor in
    ``COVERAGE_FACTORS[kind]`` the total-variation distance ``0.5 * sum |p_fake - p_real|`` between the
    predicted category histograms is taken, and the mean over factors returned, a float in [0, 1]:
    0 = the same mix as the data, 1 = disjoint (a collapsed generator drawing only blond, glasses-free
    faces scores high). Lower is better, like SWD and FID. ``real`` images (classified the same way) are
    the reference; by default a fresh synthetic sample. Use a few hundred fakes or more: with n fakes the
    score of a perfect generator is about ``sqrt(categories / n)`` / 2 from sampling noise alone.
    ``return_details=True`` returns a dict: ``score``, per-factor ``factors`` (categories, fake and real
    histograms, ``tv``, ``used``), ``used``, ``n_fake`` and ``reference``. Raises ``ValueError`` for no
    fakes, a classifier of another kind, or images ``to_uint8`` refuses (floats outside [-1.05, 1.05]);
    float ``real`` images with no negative value warn (``ImageRangeWarning``: probably [0, 1] data).
    """
    fake = _fake(fake, "factor_distance's fake images")
    if len(fake) < 1:
        raise ValueError("factor_distance: needs at least 1 fake image")
    if real is not None:  # checked before a classifier is built (or trained, minutes on a CPU)
        real = _real(real, "factor_distance's real images")
    clf = classifier if classifier is not None else _classifier(kind, fake.shape[1])
    if clf.kind != kind:
        raise ValueError(f"factor_distance: classifier is for {clf.kind!r}, not {kind!r}")
    if real is None:
        h_real, ref = clf.reference_histograms(), f"synthetic({kind!r}, {clf.N_REF}, seed={clf.REF_SEED})"
    else:
        h_real, ref = clf.histograms(real), f"{len(real)} real images"
    return _coverage(clf.histograms(fake), h_real, clf, len(fake), ref, return_details)


def factor_coverage(fake, kind, *, real=None, classifier=None, return_details=False):
    """The old name of :func:`factor_distance`, kept so older code and notebooks run unchanged.

    Same arguments, computation and result. The name read backwards (0 is best, where "coverage" suggests
    1 is), hence the rename (issue 14); new code should call ``factor_distance``.
    """
    return factor_distance(fake, kind, real=real, classifier=classifier, return_details=return_details)
