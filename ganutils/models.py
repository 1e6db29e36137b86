"""The recipes' generators and discriminators, in Keras 3.

``build(name)`` returns ``(generator, discriminator)``. Every generator maps a latent
vector ``z`` of shape ``[B, latent_dim]`` to images in [-1, 1] (tanh); every
discriminator maps images to one **logit** per image. The sigmoid lives in the loss
(``from_logits=True``), never in the model: the recipes put a sigmoid in the model *and*
asked the loss for logits, which squashes the gradient (see the eyes chapter).

``RECIPES[name]`` is what the original blog recipe trained each model with (image size, latent
size, batch, optimiser, label trick); it is a view of ``ganutils.recipes``, where recipes live.

The discriminators can be built in a modern variant: ``d_norm="layer"`` or ``"none"`` replaces batch
normalisation (which couples the images of a batch, so per-image gradient penalties are wrong with it),
and ``spectral_norm=True`` wraps every convolution and dense layer in ``keras.layers.SpectralNormalization``
(Miyato et al. 2018). Keras' layer does not reparametrise the kernel as the paper does (W / σ(W) inside
the forward pass, with the gradient flowing through σ): on each training call it runs one power iteration
and *projects the kernel in place*, W ← W / σ(W), then applies the layer, so the optimiser updates the
projected kernel. Either way the largest singular value of the kernel the layer applies is about 1
(tested in ``tests/test_models.py``).

The generators can double their feature maps three ways (``build(..., upsample=...)``): the recipes'
stride-2 transposed convolutions (``"transpose"``, the default), which leave a checkerboard (Odena et al.
2016, "Deconvolution and checkerboard artifacts"); nearest-neighbour resizing followed by a 3x3
convolution (``"resize"``, their fix); or a 3x3 convolution to four times the channels followed by a
sub-pixel shuffle (``"subpixel"``, Shi et al. 2016) initialised with ICNR (Aitken et al. 2017), so that
it starts without a grid. ``ganutils.metrics.checkerboard`` measures the grid; ``conv_flops`` the cost.
Untrained (width 0.125, seeds 0 and 1, 256 samples stretched to [-1, 1]), the transposed convolutions
score 6 to 60 on ``checkerboard`` (celeba28 8.0-9.4 at levels=2, anime64 13-18, eyes128 49-59, celeba128
42-47, celeba64 6.5-16), resizing and sub-pixel convolution 0.2 to 4.6 (real images: about 1).
"""

from __future__ import annotations

import math

from . import recipes as _recipes

NAMES = ("celeba28", "eyes128", "anime64", "celeba128", "celeba64")

#: What the original recipes trained each model with, by model name (a view of ``ganutils.recipes``).
#: ``labels``: "smooth" = real labels 0.9, "noisy" = real in [0.8, 1], fake in [0, 0.2], "hard" = 1 and 0.
RECIPES = {}
for _recipe_name in ("dcgan28", "eyes128", "anime64", "celeba128_rmsprop", "celeba64_rmsprop"):
    _r = _recipes.RECIPES[_recipe_name]
    RECIPES[_r["model"]] = dict(recipe=_recipe_name, image_size=_r["image_size"],
                                latent_dim=_r["latent_dim"], batch_size=_r["batch_size"],
                                labels=_r["labels"], g_optimizer=dict(_r["g_optimizer"]),
                                d_optimizer=dict(_r["d_optimizer"]))

D_NORMS = ("batch", "layer", "none")

#: How a generator doubles the size of its feature maps (``build(..., upsample=...)``).
UPSAMPLES = ("transpose", "resize", "subpixel")


def _keras():
    import keras  # imported lazily: `import ganutils.models` stays cheap
    return keras


def _dcgan_init(seed=None):
    """N(0, 0.02): the DCGAN paper's weight initialisation."""
    return _keras().initializers.RandomNormal(mean=0.0, stddev=0.02, seed=seed)


def _ch(channels, width):
    """Scale a layer's channel count by the width multiplier (at least 1)."""
    return max(1, int(round(channels * width)))


def _check(name, latent_dim, width):
    if name not in RECIPES:
        raise ValueError(f"unknown model {name!r}: expected one of {', '.join(NAMES)}")
    if not isinstance(latent_dim, int) or isinstance(latent_dim, bool) or latent_dim < 1:
        raise ValueError(f"latent_dim must be a positive int, got {latent_dim!r}")
    if not isinstance(width, (int, float)) or isinstance(width, bool) or not (0 < width <= 8) \
            or not math.isfinite(width):
        raise ValueError(f"width must be a number in (0, 8], got {width!r}")


def build(name, *, latent_dim=None, width=1.0, seed=None, mixed_precision=False, d_norm=None,
          spectral_norm=False, upsample="transpose", upsample_kernel=None):
    """Build ``(generator, discriminator)`` for one of ``NAMES``.

    ``latent_dim`` defaults to the recipe's; ``width`` multiplies every layer's channel
    count (0.25 gives a quick model for tests, 1.0 is the recipe's size); ``seed`` makes
    the initial weights reproducible. ``mixed_precision``: ``False`` keeps the session's dtype policy
    (float32 unless the reader changed it); ``True`` computes in float16 on a GPU (bfloat16 on a CPU) with
    float32 weights; ``"auto"`` lets ``ganutils.precision.choose`` decide (mixed only where it is faster on
    this machine; it prints why, once); a ``precision.Choice`` is used as it is. Outputs stay float32.
    ``d_norm``: the discriminator's normalisation after each convolution but the first:
    ``None`` (the recipe's own), ``"batch"``, ``"layer"`` (over height, width and channels) or
    ``"none"``; ``spectral_norm=True`` wraps D's convolutions and dense layer in spectral
    normalisation.

    ``upsample``: how the generator doubles its images' size (see ``UPSAMPLES``): ``"transpose"`` (the
    recipe's stride-2 transposed convolutions; layers and seeded weights exactly as before, so saved
    weights load), ``"resize"`` (nearest-neighbour ×2 then a stride-1 convolution, Odena et al. 2016) or
    ``"subpixel"`` (a stride-1 convolution to 4× the channels then depth-to-space, Shi et al. 2016, with
    ICNR initialisation, Aitken et al. 2017). ``upsample_kernel``: the kernel size of those layers
    (``None``: the recipe's 4 or 5 for ``"transpose"``, 3 for the others). Only the layers that double
    the size change: the generators' stems (celeba28's 2 -> 7, anime64's 1 -> 4) and eyes128's stride-1
    transposed convolution have no uneven overlap and stay as written.

    Why 3x3 for the others: a 3x3 convolution after resizing sees 2 input pixels per axis, as a 4x4
    transposed convolution does, and costs 36 multiply-adds per input pixel and channel pair against 64
    (4x4) or 100 (5x5) with the recipe's kernel size: the whole generator costs 1.15x (eyes128), 1.33x
    (celeba28), 1.91x (anime64), 1.04x (celeba128, celeba64) the transposed one, against 2.04x, 3.28x,
    3.19x, 1.10x with the recipe's kernel size (``conv_flops``, width 1); untrained, both sizes start
    without a grid (``checkerboard`` 0.6-4.6). ``upsample_kernel=4`` with ``"transpose"`` gives eyes128
    and celeba28 a kernel divisible by the stride (even overlap), and does not remove the grid: untrained
    eyes128 scores 79 and 118 with it against 49 and 59 with the recipe's 5x5 (seeds 0 and 1), since the
    four sub-pixel phases still have different weights.

    Raises ``ValueError`` for an unknown name, a bad width, latent size, d_norm, upsample or
    upsample_kernel.
    """
    if name in RECIPES and latent_dim is None:
        latent_dim = RECIPES[name]["latent_dim"]
    _check(name, latent_dim, width)
    if d_norm is not None and d_norm not in D_NORMS:
        raise ValueError(f"d_norm must be None or one of {', '.join(D_NORMS)}, got {d_norm!r}")
    if upsample not in UPSAMPLES:
        raise ValueError(f"upsample must be one of {', '.join(UPSAMPLES)}, got {upsample!r}")
    bad_kernel = isinstance(upsample_kernel, bool) or not isinstance(upsample_kernel, int) \
        or not 1 <= upsample_kernel <= 9
    if upsample_kernel is not None and bad_kernel:
        raise ValueError(f"upsample_kernel must be None or an int in 1..9, got {upsample_kernel!r}")
    builders = {"celeba28": (_celeba28_g, _celeba28_d), "eyes128": (_eyes128_g, _eyes128_d),
                "anime64": (_anime64_g, _anime64_d), "celeba128": (_celeba128_g, _celeba128_d),
                "celeba64": (_celeba64_g, _celeba64_d)}
    make_g, make_d = builders[name]
    from . import precision
    choice = precision.choose(mixed_precision)   # ValueError for an unknown mode, before building
    keras = _keras()
    previous = keras.config.dtype_policy()
    if choice.mixed:
        keras.config.set_dtype_policy(choice.policy)   # only while building: restored below
    try:
        g = make_g(latent_dim, width, seed, _Upsampler(upsample, upsample_kernel, seed))
        d = make_d(RECIPES[name]["image_size"], width, None if seed is None else seed + 1,
                   _DLayers(d_norm, spectral_norm))
    finally:
        keras.config.set_dtype_policy(previous)
    return g, d


class _DLayers:
    """How a discriminator builder makes its layers: ``conv``/``dense`` (wrapped in spectral
    normalisation when asked) and ``norm(default)`` (the recipe's own normalisation unless
    ``d_norm`` overrides it; returns ``None`` for no layer)."""

    def __init__(self, d_norm=None, spectral_norm=False):
        self.d_norm, self.spectral_norm = d_norm, bool(spectral_norm)

    def _wrap(self, layer):
        return _keras().layers.SpectralNormalization(layer) if self.spectral_norm else layer

    def conv(self, *args, **kw):
        return self._wrap(_keras().layers.Conv2D(*args, **kw))

    def dense(self, *args, **kw):
        return self._wrap(_keras().layers.Dense(*args, **kw))

    def norm(self, default=None, momentum=0.99):
        L = _keras().layers
        kind = self.d_norm or default
        if kind == "batch":
            return L.BatchNormalization(momentum=momentum)
        if kind == "layer":
            return L.LayerNormalization(axis=[1, 2, 3])
        return None

    @staticmethod
    def apply(layer, x):
        return x if layer is None else layer(x)


class _Upsampler:
    """How a generator builder doubles its feature maps: ``up(x, filters, kernel, init, fresh)`` in place of
    the recipe's ``Conv2DTranspose(filters, kernel, strides=2, padding="same", kernel_initializer=init)``.

    ``"transpose"`` builds exactly that layer (unnamed, as before, with the builder's ``init``), with
    ``kernel`` replaced by ``upsample_kernel`` when one is given. The other modes name their layers
    ``up<i>_resize`` + ``up<i>_conv`` or ``up<i>_conv`` + ``up<i>_shuffle`` (i = 1, 2, … from the input
    side) and draw their kernels from ``fresh(seed * 1000 + 500 + i)`` (``fresh``: the model's own
    initialiser family, e.g. ``_dcgan_init``), a seed stream of their own, so no two layers start with the
    same kernel and the model's other layers start exactly as with ``"transpose"``.
    """

    def __init__(self, mode="transpose", kernel=None, seed=None):
        self.mode, self.kernel, self.seed, self.count = mode, kernel, seed, 0

    def __call__(self, x, filters, kernel, init, fresh, *, use_bias=True):
        L = _keras().layers
        self.count += 1
        if self.mode == "transpose":
            return L.Conv2DTranspose(filters, self.kernel or kernel, strides=2, padding="same",
                                     use_bias=use_bias, kernel_initializer=init)(x)
        k = self.kernel or 3
        name = f"up{self.count}"
        init = fresh(None if self.seed is None else self.seed * 1000 + 500 + self.count)
        if self.mode == "resize":
            x = L.UpSampling2D(2, interpolation="nearest", name=f"{name}_resize")(x)
            return L.Conv2D(filters, k, padding="same", use_bias=use_bias, kernel_initializer=init,
                            name=f"{name}_conv")(x)
        layers = _custom_objects()
        x = L.Conv2D(4 * filters, k, padding="same", use_bias=use_bias,
                     kernel_initializer=layers["ICNR"](init), name=f"{name}_conv")(x)
        return layers["DepthToSpace"](2, name=f"{name}_shuffle")(x)


_CUSTOM = {}


def _custom_objects():
    """``{"DepthToSpace": layer class, "ICNR": initializer class}``, made on first use (Keras is imported
    lazily) and registered as ``ganutils>DepthToSpace`` and ``ganutils>ICNR``, so that a model holding
    them clones (the EMA's ``keras.models.clone_model``) and serialises."""
    if _CUSTOM:
        return _CUSTOM
    keras = _keras()

    @keras.saving.register_keras_serializable(package="ganutils")
    class DepthToSpace(keras.layers.Layer):
        """Sub-pixel shuffle (Shi et al. 2016): ``[B, H, W, r²·C]`` -> ``[B, r·H, r·W, C]``, output pixel
        ``(r·h + i, r·w + j)`` channel ``c`` taken from input channel ``(r·i + j)·C + c`` (``keras.ops``'
        ``depth_to_space``, which is TensorFlow's)."""

        def __init__(self, block_size=2, **kwargs):
            super().__init__(**kwargs)
            self.block_size = int(block_size)

        def call(self, x):
            return keras.ops.depth_to_space(x, self.block_size)

        def compute_output_shape(self, shape):
            b, h, w, c = shape
            r = self.block_size
            return (b, None if h is None else h * r, None if w is None else w * r, c // (r * r))

        def get_config(self):
            return {**super().get_config(), "block_size": self.block_size}

    @keras.saving.register_keras_serializable(package="ganutils")
    class ICNR(keras.initializers.Initializer):
        """ICNR (Aitken et al. 2017, "Checkerboard artifact free sub-pixel convolution"): a kernel
        ``[k, k, Cin, r²·C]`` for a convolution followed by ``DepthToSpace(r)`` made of one kernel
        ``[k, k, Cin, C]`` drawn from ``initializer`` and repeated for the r² sub-pixels, so that at
        initialisation the shuffle's output is that convolution upsampled by nearest neighbour: no grid."""

        def __init__(self, initializer, scale=2):
            self.initializer = keras.initializers.get(initializer)
            self.scale = int(scale)

        def __call__(self, shape, dtype=None):
            n = self.scale ** 2
            if shape[-1] % n:
                raise ValueError(f"ICNR: the kernel's {shape[-1]} output channels are not a multiple of {n}")
            base = self.initializer((*shape[:-1], shape[-1] // n), dtype=dtype)
            # channel (r·i + j)·C + c of the output is sub-pixel (i, j) of channel c: whole copies of `base`
            return keras.ops.tile(base, (1,) * (len(shape) - 1) + (n,))

        def get_config(self):
            return {"initializer": keras.initializers.serialize(self.initializer), "scale": self.scale}

        @classmethod
        def from_config(cls, config):
            return cls(keras.initializers.deserialize(config["initializer"]), config.get("scale", 2))

    _CUSTOM.update(DepthToSpace=DepthToSpace, ICNR=ICNR)
    return _CUSTOM


def mixed_policy():
    """'mixed_float16' where a GPU is visible, else 'mixed_bfloat16' (CPUs lack fast float16)."""
    from . import precision
    return precision.choose(True).policy


# --- dcgan28: 28x28 CelebA DCGAN (a TensorFlow 1 blog recipe, ported) -----------------------------

def _celeba28_g(latent_dim, width, seed, up):
    """The 28×28 recipe's generator: dense 2x2x512, then 5x5 deconvolutions 7 -> 14 -> 28, tanh.

    Changed: TF1 ``tf.layers`` ported to Keras layers; BN + leaky ReLU (0.2) after each
    layer as the recipe describes; DCGAN N(0, 0.02) init (the recipe does not say).
    """
    keras = _keras()
    L = keras.layers
    init = _dcgan_init(seed)
    z = keras.Input((latent_dim,), name="z")
    x = L.Dense(2 * 2 * _ch(512, width), kernel_initializer=init)(z)
    x = L.Reshape((2, 2, _ch(512, width)))(x)
    x = L.BatchNormalization()(x)
    x = L.LeakyReLU(0.2)(x)
    # 2 -> 7: 'valid' padding gives (2 - 1) * 2 + 5 = 7, the step that makes 28 reachable.
    x = L.Conv2DTranspose(_ch(256, width), 5, strides=2, padding="valid", kernel_initializer=init)(x)
    x = L.BatchNormalization()(x)
    x = L.LeakyReLU(0.2)(x)
    x = up(x, _ch(128, width), 5, init, _dcgan_init)
    x = L.BatchNormalization()(x)
    x = L.LeakyReLU(0.2)(x)
    x = up(x, 3, 5, init, _dcgan_init)
    out = L.Activation("tanh", dtype="float32")(x)
    return keras.Model(z, out, name="celeba28_generator")


def _celeba28_d(size, width, seed, D):
    """The 28×28 recipe's discriminator: three 5x5 convolutions (64, 128, 256), batch norm,
    leaky ReLU 0.2, flatten, one logit.

    Changed: no batch norm on the first layer (Radford et al.: BN on the input layer makes
    samples oscillate); the recipe's sigmoid is dropped because the loss takes logits.
    """
    keras = _keras()
    L = keras.layers
    init = _dcgan_init(seed)
    x_in = keras.Input((size, size, 3), name="image")
    x = D.conv(_ch(64, width), 5, strides=2, padding="same", kernel_initializer=init)(x_in)
    x = L.LeakyReLU(0.2)(x)
    x = D.conv(_ch(128, width), 5, strides=2, padding="same", kernel_initializer=init)(x)
    x = D.apply(D.norm("batch"), x)
    x = L.LeakyReLU(0.2)(x)
    x = D.conv(_ch(256, width), 5, strides=1, padding="same", kernel_initializer=init)(x)
    x = D.apply(D.norm("batch"), x)
    x = L.LeakyReLU(0.2)(x)
    x = L.Flatten()(x)
    logit = D.dense(1, kernel_initializer=init, dtype="float32")(x)
    return keras.Model(x_in, logit, name="celeba28_discriminator")


# --- eyes128: 128x128 eyes (a Keras blog recipe) ------------------------------------------------------------

def _eyes128_g(latent_dim, width, seed, up):
    """The eye recipe's generator: Dense 100 -> 16x16x256, then Conv2DTranspose up to
    128x128x3 (16 -> 16 -> 32 -> 64 -> 128), BN + leaky ReLU, tanh.

    Changed: DCGAN N(0, 0.02) init (the recipe does not say).
    """
    keras = _keras()
    L = keras.layers
    init = _dcgan_init(seed)
    z = keras.Input((latent_dim,), name="z")
    x = L.Dense(16 * 16 * _ch(256, width), use_bias=False, kernel_initializer=init)(z)
    x = L.BatchNormalization()(x)
    x = L.LeakyReLU(0.2)(x)
    x = L.Reshape((16, 16, _ch(256, width)))(x)
    for ch, stride in ((128, 1), (64, 2), (32, 2)):
        if stride == 1:   # a stride-1 transposed convolution is a convolution: no uneven overlap, kept
            x = L.Conv2DTranspose(_ch(ch, width), 5, strides=1, padding="same", use_bias=False,
                                  kernel_initializer=init)(x)
        else:
            x = up(x, _ch(ch, width), 5, init, _dcgan_init, use_bias=False)
        x = L.BatchNormalization()(x)
        x = L.LeakyReLU(0.2)(x)
    x = up(x, 3, 5, init, _dcgan_init)
    out = L.Activation("tanh", dtype="float32")(x)
    return keras.Model(z, out, name="eyes128_generator")


def _eyes128_d(size, width, seed, D):
    """The eye recipe's discriminator: "just a simple CNN" — 5x5 stride-2 convolutions
    (64, 128, 256) with leaky ReLU and dropout 0.3, flatten, one logit.

    Changed: the recipe ended in a sigmoid *and* used ``from_logits=True`` in its loss; here
    the model outputs the logit and only the loss applies the sigmoid.
    """
    keras = _keras()
    L = keras.layers
    init = _dcgan_init(seed)
    x_in = keras.Input((size, size, 3), name="image")
    x = x_in
    for i, ch in enumerate((64, 128, 256)):
        x = D.conv(_ch(ch, width), 5, strides=2, padding="same", kernel_initializer=init)(x)
        if i:
            x = D.apply(D.norm(None), x)
        x = L.LeakyReLU(0.2)(x)
        x = L.Dropout(0.3)(x)
    x = L.Flatten()(x)
    logit = D.dense(1, kernel_initializer=init, dtype="float32")(x)
    return keras.Model(x_in, logit, name="eyes128_discriminator")


# --- anime64: 64x64 anime faces, fully convolutional DCGAN (a Keras blog recipe) ----------------------------------

def _anime64_g(latent_dim, width, seed, up):
    """The anime recipe's generator as written: 4x4 transposed convolutions 512 (1 -> 4), 256, 128,
    64 (-> 32), a 3x3 convolution of 64, then a transposed convolution to 3 channels
    (-> 64x64) and tanh; BN momentum 0.5 and LeakyReLU 0.2 after each layer.

    Changed: takes ``z`` as ``[B, latent_dim]`` and reshapes it to the recipe's 1x1 map;
    keeps the recipe's Glorot-uniform init (the recipe says so).
    """
    keras = _keras()
    L = keras.layers
    init = keras.initializers.GlorotUniform(seed=seed)
    z = keras.Input((latent_dim,), name="z")
    x = L.Reshape((1, 1, latent_dim))(z)
    x = L.Conv2DTranspose(_ch(512, width), 4, strides=1, padding="valid", kernel_initializer=init)(x)
    x = L.BatchNormalization(momentum=0.5)(x)
    x = L.LeakyReLU(0.2)(x)
    for ch in (256, 128, 64):
        x = up(x, _ch(ch, width), 4, init, _glorot)
        x = L.BatchNormalization(momentum=0.5)(x)
        x = L.LeakyReLU(0.2)(x)
    x = L.Conv2D(_ch(64, width), 3, padding="same", kernel_initializer=init)(x)
    x = L.BatchNormalization(momentum=0.5)(x)
    x = L.LeakyReLU(0.2)(x)
    x = up(x, 3, 4, init, _glorot)
    out = L.Activation("tanh", dtype="float32")(x)
    return keras.Model(z, out, name="anime64_generator")


def _anime64_d(size, width, seed, D):
    """The anime recipe's discriminator: 4x4 stride-2 convolutions 64 -> 128 -> 256 -> 512 (BN
    momentum 0.5 on all but the first), LeakyReLU 0.2, flatten, one logit.

    Changed: the final sigmoid is dropped (the loss takes logits). The recipe defines a
    dropout of 0.4 but never uses it; neither do we.
    """
    keras = _keras()
    L = keras.layers
    init = keras.initializers.GlorotUniform(seed=seed)
    x_in = keras.Input((size, size, 3), name="image")
    x = D.conv(_ch(64, width), 4, strides=2, padding="same", kernel_initializer=init)(x_in)
    x = L.LeakyReLU(0.2)(x)
    for ch in (128, 256, 512):
        x = D.conv(_ch(ch, width), 4, strides=2, padding="same", kernel_initializer=init)(x)
        x = D.apply(D.norm("batch", momentum=0.5), x)
        x = L.LeakyReLU(0.2)(x)
    x = L.Flatten()(x)
    logit = D.dense(1, kernel_initializer=init, dtype="float32")(x)
    return keras.Model(x_in, logit, name="anime64_discriminator")


# --- celeba128_rmsprop: 128x128 CelebA, latent 32, RMSprop (a Keras blog recipe) ---------------------------------------------

def _celeba128_g(latent_dim, width, seed, up):
    """The 128×128 CelebA recipe's generator: Dense 128*16*16, a 5x5 convolution of 256, three 4x4 stride-2
    transposed convolutions of 256 (16 -> 128), two 5x5 convolutions of 512 at full
    resolution, and a 7x7 convolution to 3 channels with tanh; leaky ReLU (Keras' default
    slope 0.3) throughout, no batch norm.

    The two 512-channel convolutions at 128x128 make this by far the heaviest model of the
    book: use ``width`` < 1 to train it on a CPU. Changed: DCGAN N(0, 0.02) init (which, with no
    batch norm to rescale the activations, starves a narrow copy of signal: chapter 6 measures it;
    ``celeba64`` keeps the recipe's own initialisation).
    """
    return _nagendra_g(latent_dim, width, _seeded(_dcgan_init, seed), up, _dcgan_init, upsamplings=3,
                       name="celeba128")


def _celeba128_d(size, width, seed, D):
    """The 128×128 CelebA recipe's discriminator: a 3x3 convolution of 256, four 4x4 stride-2 convolutions
    of 256 ('valid' padding: 128 -> 126 -> 62 -> 30 -> 14 -> 6), leaky ReLU, flatten,
    dropout 0.4, one logit.

    Changed: the final sigmoid is dropped (the loss takes logits); RMSprop's ``decay``
    argument no longer exists in Keras 3 and at 1e-8 it did nothing measurable anyway.
    """
    return _nagendra_d(size, width, _seeded(_dcgan_init, seed), D, name="celeba128")


# --- celeba64_rmsprop: the same recipe at 64x64, with its own initialisation --------------------------------------

def _celeba64_g(latent_dim, width, seed, up):
    """The 128×128 CelebA recipe's generator at 64×64: the same layers with two stride-2 transposed
    convolutions instead of three (16 -> 64), and the recipe's own initialisation, Keras' default
    Glorot uniform (limit sqrt(6 / (fan_in + fan_out))), seeded.

    At 64×64 the two 512-channel convolutions cost a quarter of what they cost at 128×128 (1.4 GFLOP
    per image at width 0.125 instead of 5.4), the size of the PyTorch DCGAN tutorial's CelebA faces.
    """
    return _nagendra_g(latent_dim, width, _seeded(_glorot, seed), up, _glorot, upsamplings=2, name="celeba64")


def _celeba64_d(size, width, seed, D):
    """The 128×128 CelebA recipe's discriminator on 64×64 images ('valid' padding: 64 -> 62 -> 30 -> 14
    -> 6 -> 2), Glorot-initialised as in the recipe; one logit, no sigmoid."""
    return _nagendra_d(size, width, _seeded(_glorot, seed), D, name="celeba64")


def _glorot(seed=None):
    """Keras' default kernel initialisation, Glorot uniform, seeded."""
    return _keras().initializers.GlorotUniform(seed=seed)


def _seeded(make, seed):
    """A fresh initializer for every layer: ``make(seed * 1000 + k)`` for the k-th call (``make(None)``
    when ``seed`` is None). One seeded Keras initializer reused for several layers draws the *same* values
    for layers of the same shape: Nagendra's generator would start with identical transposed
    convolutions, his discriminator with four identical strided ones."""
    count = iter(range(1 << 30))
    return lambda: make(None if seed is None else seed * 1000 + next(count))


def _nagendra_g(latent_dim, width, init, up, fresh, *, upsamplings, name):
    # `init()` returns a new initializer for each layer (see _seeded); it is called for every upsampling
    # layer whatever `up` builds, so that the later layers draw the same seeds with every upsample option
    keras = _keras()
    L = keras.layers
    z = keras.Input((latent_dim,), name="z")
    x = L.Dense(16 * 16 * _ch(128, width), kernel_initializer=init())(z)
    x = L.LeakyReLU(0.3)(x)
    x = L.Reshape((16, 16, _ch(128, width)))(x)
    x = L.Conv2D(_ch(256, width), 5, padding="same", kernel_initializer=init())(x)
    x = L.LeakyReLU(0.3)(x)
    for _ in range(upsamplings):
        x = up(x, _ch(256, width), 4, init(), fresh)
        x = L.LeakyReLU(0.3)(x)
    for _ in range(2):
        x = L.Conv2D(_ch(512, width), 5, padding="same", kernel_initializer=init())(x)
        x = L.LeakyReLU(0.3)(x)
    x = L.Conv2D(3, 7, padding="same", kernel_initializer=init())(x)
    out = L.Activation("tanh", dtype="float32")(x)
    return keras.Model(z, out, name=f"{name}_generator")


def _nagendra_d(size, width, init, D, *, name):
    keras = _keras()
    L = keras.layers
    x_in = keras.Input((size, size, 3), name="image")
    x = D.conv(_ch(256, width), 3, kernel_initializer=init())(x_in)
    x = L.LeakyReLU(0.3)(x)
    for _ in range(4):
        x = D.conv(_ch(256, width), 4, strides=2, kernel_initializer=init())(x)
        x = D.apply(D.norm(None), x)
        x = L.LeakyReLU(0.3)(x)
    x = L.Flatten()(x)
    x = L.Dropout(0.4)(x)
    logit = D.dense(1, kernel_initializer=init(), dtype="float32")(x)
    return keras.Model(x_in, logit, name=f"{name}_discriminator")


def conv_flops(model):
    """Multiply-adds x 2 of one forward pass of ``model`` for a single input, counted
    layer by layer (Conv2D, Conv2DTranspose, Dense); other layers are cheap and ignored (the
    nearest-neighbour ``UpSampling2D`` and the sub-pixel shuffle of ``upsample="resize"`` and
    ``"subpixel"`` only move values). With 3x3 kernels a resize-convolution and a sub-pixel
    convolution cost the same: 36·h·w·Cin·Cout multiply-adds to double an h x w map, against 16 (4x4
    kernels) or 25 (5x5) for the recipes' transposed convolutions.

    Used to report achieved FLOP/s and to compare the models' cost.
    """
    keras = _keras()
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            # each input pixel scatters a k*k*Cout patch
            _, h, w, cin = layer.input.shape
            kh, kw = layer.kernel_size
            total += 2 * h * w * cin * kh * kw * layer.filters
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, cout = layer.output.shape
            cin = layer.input.shape[-1]
            kh, kw = layer.kernel_size
            total += 2 * h * w * cout * kh * kw * cin
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
    return int(total)


def layer_table(model):
    """Print one line per layer of ``model``: its type, output shape and number of weights,
    then the total. Chapter 3 reads the recipe's models this way; later chapters reuse it."""
    for layer in model.layers[1:]:   # layers[0] is the input
        print(f"  {type(layer).__name__:>19} {str(layer.output.shape[1:]):>15} {layer.count_params():>10,}")
    print(f"  {'total':>19} {'':>15} {model.count_params():>10,}")
