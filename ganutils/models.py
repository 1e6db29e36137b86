"""The seeds' generators and discriminators, in Keras 3.

``build(name)`` returns ``(generator, discriminator)``. Every generator maps a latent
vector ``z`` of shape ``[B, latent_dim]`` to images in [-1, 1] (tanh); every
discriminator maps images to one **logit** per image. The sigmoid lives in the loss
(``from_logits=True``), never in the model: the seeds put a sigmoid in the model *and*
asked the loss for logits, which squashes the gradient (see the eyes chapter).

``RECIPES[name]`` records what the seed trained each model with (image size, latent
size, batch, optimiser, label trick), so the chapters and the trainer share one source.
"""

from __future__ import annotations

import math

NAMES = ("celeba28", "eyes128", "anime64", "celeba128")

#: What each seed trained with. ``labels``: "smooth" = real labels 0.9 (seed 002),
#: "noisy" = real in [0.8, 1], fake in [0, 0.2] (seed 004), "hard" = 1 and 0.
RECIPES = {
    "celeba28": dict(seed="002", image_size=28, latent_dim=100, batch_size=64, labels="smooth",
                     g_optimizer=dict(name="adam", learning_rate=2e-4, beta_1=0.5),
                     d_optimizer=dict(name="adam", learning_rate=2e-4, beta_1=0.5)),
    "eyes128": dict(seed="000/001", image_size=128, latent_dim=100, batch_size=64, labels="hard",
                    g_optimizer=dict(name="adam", learning_rate=1e-4),
                    d_optimizer=dict(name="adam", learning_rate=1e-4)),
    "anime64": dict(seed="004", image_size=64, latent_dim=100, batch_size=64, labels="noisy",
                    g_optimizer=dict(name="adam", learning_rate=1.5e-4, beta_1=0.5),
                    d_optimizer=dict(name="adam", learning_rate=2e-4, beta_1=0.5)),
    "celeba128": dict(seed="003", image_size=128, latent_dim=32, batch_size=16, labels="hard",
                      g_optimizer=dict(name="rmsprop", learning_rate=1e-4, clipvalue=1.0),
                      d_optimizer=dict(name="rmsprop", learning_rate=1e-4, clipvalue=1.0)),
}


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


def build(name, *, latent_dim=None, width=1.0, seed=None, mixed_precision=False):
    """Build ``(generator, discriminator)`` for one of ``NAMES``.

    ``latent_dim`` defaults to the seed's; ``width`` multiplies every layer's channel
    count (0.25 gives a quick model for tests, 1.0 is the seed's size); ``seed`` makes
    the initial weights reproducible. ``mixed_precision=True`` computes in float16 on a
    GPU (bfloat16 on a CPU) with float32 weights; outputs stay float32.
    """
    if name in RECIPES and latent_dim is None:
        latent_dim = RECIPES[name]["latent_dim"]
    _check(name, latent_dim, width)
    builders = {"celeba28": (_celeba28_g, _celeba28_d), "eyes128": (_eyes128_g, _eyes128_d),
                "anime64": (_anime64_g, _anime64_d), "celeba128": (_celeba128_g, _celeba128_d)}
    make_g, make_d = builders[name]
    keras = _keras()
    previous = keras.config.dtype_policy()
    if mixed_precision:
        keras.config.set_dtype_policy(mixed_policy())
    try:
        g = make_g(latent_dim, width, seed)
        d = make_d(RECIPES[name]["image_size"], width, None if seed is None else seed + 1)
    finally:
        keras.config.set_dtype_policy(previous)
    return g, d


def mixed_policy():
    """'mixed_float16' where a GPU is visible, else 'mixed_bfloat16' (CPUs lack fast float16)."""
    import tensorflow as tf
    return "mixed_float16" if tf.config.list_physical_devices("GPU") else "mixed_bfloat16"


# --- seed 002: 28x28 CelebA DCGAN (TensorFlow 1 graph code, ported) -----------------------------

def _celeba28_g(latent_dim, width, seed):
    """Seed 002's generator: dense 2x2x512, then 5x5 deconvolutions 7 -> 14 -> 28, tanh.

    Changed: TF1 ``tf.layers`` ported to Keras layers; BN + leaky ReLU (0.2) after each
    layer as the seed describes; DCGAN N(0, 0.02) init (the seed does not say).
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
    x = L.Conv2DTranspose(_ch(128, width), 5, strides=2, padding="same", kernel_initializer=init)(x)
    x = L.BatchNormalization()(x)
    x = L.LeakyReLU(0.2)(x)
    x = L.Conv2DTranspose(3, 5, strides=2, padding="same", kernel_initializer=init)(x)
    out = L.Activation("tanh", dtype="float32")(x)
    return keras.Model(z, out, name="celeba28_generator")


def _celeba28_d(size, width, seed):
    """Seed 002's discriminator: three 5x5 convolutions (64, 128, 256), batch norm,
    leaky ReLU 0.2, flatten, one logit.

    Changed: no batch norm on the first layer (Radford et al.: BN on the input layer makes
    samples oscillate); the seed's sigmoid is dropped because the loss takes logits.
    """
    keras = _keras()
    L = keras.layers
    init = _dcgan_init(seed)
    x_in = keras.Input((size, size, 3), name="image")
    x = L.Conv2D(_ch(64, width), 5, strides=2, padding="same", kernel_initializer=init)(x_in)
    x = L.LeakyReLU(0.2)(x)
    x = L.Conv2D(_ch(128, width), 5, strides=2, padding="same", kernel_initializer=init)(x)
    x = L.BatchNormalization()(x)
    x = L.LeakyReLU(0.2)(x)
    x = L.Conv2D(_ch(256, width), 5, strides=1, padding="same", kernel_initializer=init)(x)
    x = L.BatchNormalization()(x)
    x = L.LeakyReLU(0.2)(x)
    x = L.Flatten()(x)
    logit = L.Dense(1, kernel_initializer=init, dtype="float32")(x)
    return keras.Model(x_in, logit, name="celeba28_discriminator")


# --- seeds 000/001: 128x128 eyes ------------------------------------------------------------

def _eyes128_g(latent_dim, width, seed):
    """Seeds 000/001's generator: Dense 100 -> 16x16x256, then Conv2DTranspose up to
    128x128x3 (16 -> 16 -> 32 -> 64 -> 128), BN + leaky ReLU, tanh.

    Changed: DCGAN N(0, 0.02) init (the seed does not say).
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
        x = L.Conv2DTranspose(_ch(ch, width), 5, strides=stride, padding="same", use_bias=False,
                              kernel_initializer=init)(x)
        x = L.BatchNormalization()(x)
        x = L.LeakyReLU(0.2)(x)
    x = L.Conv2DTranspose(3, 5, strides=2, padding="same", kernel_initializer=init)(x)
    out = L.Activation("tanh", dtype="float32")(x)
    return keras.Model(z, out, name="eyes128_generator")


def _eyes128_d(size, width, seed):
    """Seeds 000/001's discriminator: "just a simple CNN" — 5x5 stride-2 convolutions
    (64, 128, 256) with leaky ReLU and dropout 0.3, flatten, one logit.

    Changed: the seed ended in a sigmoid *and* used ``from_logits=True`` in its loss; here
    the model outputs the logit and only the loss applies the sigmoid.
    """
    keras = _keras()
    L = keras.layers
    init = _dcgan_init(seed)
    x_in = keras.Input((size, size, 3), name="image")
    x = x_in
    for ch in (64, 128, 256):
        x = L.Conv2D(_ch(ch, width), 5, strides=2, padding="same", kernel_initializer=init)(x)
        x = L.LeakyReLU(0.2)(x)
        x = L.Dropout(0.3)(x)
    x = L.Flatten()(x)
    logit = L.Dense(1, kernel_initializer=init, dtype="float32")(x)
    return keras.Model(x_in, logit, name="eyes128_discriminator")


# --- seed 004: 64x64 anime faces, fully convolutional DCGAN ----------------------------------

def _anime64_g(latent_dim, width, seed):
    """Seed 004's generator as written: 4x4 transposed convolutions 512 (1 -> 4), 256, 128,
    64 (-> 32), a 3x3 convolution of 64, then a transposed convolution to 3 channels
    (-> 64x64) and tanh; BN momentum 0.5 and LeakyReLU 0.2 after each layer.

    Changed: takes ``z`` as ``[B, latent_dim]`` and reshapes it to the seed's 1x1 map;
    keeps the seed's Glorot-uniform init (the seed says so).
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
        x = L.Conv2DTranspose(_ch(ch, width), 4, strides=2, padding="same", kernel_initializer=init)(x)
        x = L.BatchNormalization(momentum=0.5)(x)
        x = L.LeakyReLU(0.2)(x)
    x = L.Conv2D(_ch(64, width), 3, padding="same", kernel_initializer=init)(x)
    x = L.BatchNormalization(momentum=0.5)(x)
    x = L.LeakyReLU(0.2)(x)
    x = L.Conv2DTranspose(3, 4, strides=2, padding="same", kernel_initializer=init)(x)
    out = L.Activation("tanh", dtype="float32")(x)
    return keras.Model(z, out, name="anime64_generator")


def _anime64_d(size, width, seed):
    """Seed 004's discriminator: 4x4 stride-2 convolutions 64 -> 128 -> 256 -> 512 (BN
    momentum 0.5 on all but the first), LeakyReLU 0.2, flatten, one logit.

    Changed: the final sigmoid is dropped (the loss takes logits). The seed defines a
    dropout of 0.4 but never uses it; neither do we.
    """
    keras = _keras()
    L = keras.layers
    init = keras.initializers.GlorotUniform(seed=seed)
    x_in = keras.Input((size, size, 3), name="image")
    x = L.Conv2D(_ch(64, width), 4, strides=2, padding="same", kernel_initializer=init)(x_in)
    x = L.LeakyReLU(0.2)(x)
    for ch in (128, 256, 512):
        x = L.Conv2D(_ch(ch, width), 4, strides=2, padding="same", kernel_initializer=init)(x)
        x = L.BatchNormalization(momentum=0.5)(x)
        x = L.LeakyReLU(0.2)(x)
    x = L.Flatten()(x)
    logit = L.Dense(1, kernel_initializer=init, dtype="float32")(x)
    return keras.Model(x_in, logit, name="anime64_discriminator")


# --- seed 003: 128x128 CelebA, latent 32, RMSprop ---------------------------------------------

def _celeba128_g(latent_dim, width, seed):
    """Seed 003's generator: Dense 128*16*16, a 5x5 convolution of 256, three 4x4 stride-2
    transposed convolutions of 256 (16 -> 128), two 5x5 convolutions of 512 at full
    resolution, and a 7x7 convolution to 3 channels with tanh; leaky ReLU (Keras' default
    slope 0.3) throughout, no batch norm.

    The two 512-channel convolutions at 128x128 make this by far the heaviest model of the
    book: use ``width`` < 1 to train it on a CPU. Changed: DCGAN N(0, 0.02) init.
    """
    keras = _keras()
    L = keras.layers
    init = _dcgan_init(seed)
    z = keras.Input((latent_dim,), name="z")
    x = L.Dense(16 * 16 * _ch(128, width), kernel_initializer=init)(z)
    x = L.LeakyReLU(0.3)(x)
    x = L.Reshape((16, 16, _ch(128, width)))(x)
    x = L.Conv2D(_ch(256, width), 5, padding="same", kernel_initializer=init)(x)
    x = L.LeakyReLU(0.3)(x)
    for _ in range(3):
        x = L.Conv2DTranspose(_ch(256, width), 4, strides=2, padding="same", kernel_initializer=init)(x)
        x = L.LeakyReLU(0.3)(x)
    for _ in range(2):
        x = L.Conv2D(_ch(512, width), 5, padding="same", kernel_initializer=init)(x)
        x = L.LeakyReLU(0.3)(x)
    x = L.Conv2D(3, 7, padding="same", kernel_initializer=init)(x)
    out = L.Activation("tanh", dtype="float32")(x)
    return keras.Model(z, out, name="celeba128_generator")


def _celeba128_d(size, width, seed):
    """Seed 003's discriminator: a 3x3 convolution of 256, four 4x4 stride-2 convolutions
    of 256 ('valid' padding: 128 -> 126 -> 62 -> 30 -> 14 -> 6), leaky ReLU, flatten,
    dropout 0.4, one logit.

    Changed: the final sigmoid is dropped (the loss takes logits); RMSprop's ``decay``
    argument no longer exists in Keras 3 and at 1e-8 it did nothing measurable anyway.
    """
    keras = _keras()
    L = keras.layers
    init = _dcgan_init(seed)
    x_in = keras.Input((size, size, 3), name="image")
    x = L.Conv2D(_ch(256, width), 3, kernel_initializer=init)(x_in)
    x = L.LeakyReLU(0.3)(x)
    for _ in range(4):
        x = L.Conv2D(_ch(256, width), 4, strides=2, kernel_initializer=init)(x)
        x = L.LeakyReLU(0.3)(x)
    x = L.Flatten()(x)
    x = L.Dropout(0.4)(x)
    logit = L.Dense(1, kernel_initializer=init, dtype="float32")(x)
    return keras.Model(x_in, logit, name="celeba128_discriminator")


def conv_flops(model):
    """Multiply-adds x 2 of one forward pass of ``model`` for a single input, counted
    layer by layer (Conv2D, Conv2DTranspose, Dense); other layers are cheap and ignored.

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
    then the total. Chapter 3 reads the seed's models this way; later chapters reuse it."""
    for layer in model.layers[1:]:   # layers[0] is the input
        print(f"  {type(layer).__name__:>19} {str(layer.output.shape[1:]):>15} {layer.count_params():>10,}")
    print(f"  {'total':>19} {'':>15} {model.count_params():>10,}")
