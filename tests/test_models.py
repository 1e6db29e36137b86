"""The seeds' models: shapes, ranges, parameter counts, logits not probabilities."""

import numpy as np
import pytest

from ganutils import models


def conv(k, cin, cout, bias=True):
    return k * k * cin * cout + (cout if bias else 0)


def bn(c):
    return 4 * c  # gamma, beta, moving mean, moving variance


@pytest.fixture(scope="module", params=models.NAMES)
def built(request):
    name = request.param
    # celeba128 at full width is ~15M parameters and 336 GFLOPs per image: fine to build, slow to run.
    return name, models.build(name, seed=0)


def test_shapes_and_ranges(built):
    name, (g, d) = built
    size = models.RECIPES[name]["image_size"]
    latent = models.RECIPES[name]["latent_dim"]
    z = np.random.default_rng(0).normal(size=(2, latent)).astype("float32") * 3
    x = np.asarray(g(z, training=False))
    assert x.shape == (2, size, size, 3)
    assert x.dtype == np.float32
    assert np.all(x >= -1) and np.all(x <= 1)
    logits = np.asarray(d(x, training=False))
    assert logits.shape == (2, 1)


def test_discriminator_outputs_logits_not_probabilities(built):
    """No sigmoid in the model: scaled-up inputs drive logits outside [0, 1]."""
    name, (g, d) = built
    assert all(getattr(layer, "activation", None) is None
               or layer.activation.__name__ != "sigmoid" for layer in d.layers)
    size = models.RECIPES[name]["image_size"]
    x = np.random.default_rng(1).uniform(-1, 1, size=(8, size, size, 3)).astype("float32")
    out = np.concatenate([np.asarray(d(x * s, training=False)) for s in (1, 30)])
    assert out.min() < 0 or out.max() > 1


def test_parameter_counts_match_the_architectures():
    """Counted by hand from each seed's layer list, independently of Keras."""
    g, d = models.build("anime64")
    expected_g = (conv(4, 100, 512) + bn(512) + conv(4, 512, 256) + bn(256) + conv(4, 256, 128) + bn(128)
                  + conv(4, 128, 64) + bn(64) + conv(3, 64, 64) + bn(64) + conv(4, 64, 3))
    expected_d = (conv(4, 3, 64) + conv(4, 64, 128) + bn(128) + conv(4, 128, 256) + bn(256)
                  + conv(4, 256, 512) + bn(512) + (4 * 4 * 512 + 1))
    assert g.count_params() == expected_g
    assert d.count_params() == expected_d

    g, d = models.build("eyes128")
    expected_g = (100 * 16 * 16 * 256 + bn(16 * 16 * 256) + conv(5, 256, 128, False) + bn(128)
                  + conv(5, 128, 64, False) + bn(64) + conv(5, 64, 32, False) + bn(32) + conv(5, 32, 3))
    expected_d = conv(5, 3, 64) + conv(5, 64, 128) + conv(5, 128, 256) + (16 * 16 * 256 + 1)
    assert g.count_params() == expected_g
    assert d.count_params() == expected_d

    g, d = models.build("celeba28")
    expected_g = (100 * 2048 + 2048 + bn(512) + conv(5, 512, 256) + bn(256) + conv(5, 256, 128) + bn(128)
                  + conv(5, 128, 3))
    expected_d = (conv(5, 3, 64) + conv(5, 64, 128) + bn(128) + conv(5, 128, 256) + bn(256)
                  + (7 * 7 * 256 + 1))
    assert g.count_params() == expected_g
    assert d.count_params() == expected_d

    g, d = models.build("celeba128")
    expected_g = (32 * 128 * 256 + 128 * 256 + conv(5, 128, 256) + 3 * conv(4, 256, 256) + conv(5, 256, 512)
                  + conv(5, 512, 512) + conv(7, 512, 3))
    expected_d = conv(3, 3, 256) + 4 * conv(4, 256, 256) + (6 * 6 * 256 + 1)
    assert g.count_params() == expected_g
    assert d.count_params() == expected_d


@pytest.mark.parametrize("name", models.NAMES)
@pytest.mark.parametrize("latent_dim,width", [(16, 0.25), (128, 0.5)])
def test_builds_on_any_latent_and_width(name, latent_dim, width):
    g, d = models.build(name, latent_dim=latent_dim, width=width)
    size = models.RECIPES[name]["image_size"]
    x = g(np.zeros((1, latent_dim), "float32"), training=False)
    assert tuple(x.shape) == (1, size, size, 3)
    assert tuple(d(x, training=False).shape) == (1, 1)
    full_g, _ = models.build(name, latent_dim=latent_dim)
    assert g.count_params() < full_g.count_params()


def test_seeded_builds_are_reproducible():
    g1, d1 = models.build("celeba28", seed=7, width=0.25)
    g2, d2 = models.build("celeba28", seed=7, width=0.25)
    g3, _ = models.build("celeba28", seed=8, width=0.25)
    for a, b in zip(g1.get_weights() + d1.get_weights(), g2.get_weights() + d2.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(g1.get_weights(), g3.get_weights()))


def test_dcgan_init_and_seed_004_glorot():
    g, _ = models.build("celeba28", seed=0)
    kernel = g.layers[1].get_weights()[0]  # the first Dense
    assert abs(kernel.std() - 0.02) < 0.002 and abs(kernel.mean()) < 0.002
    g, _ = models.build("anime64", seed=0)
    first = [layer for layer in g.layers if layer.__class__.__name__ == "Conv2DTranspose"][0]
    k = first.get_weights()[0]
    fan_in, fan_out = 4 * 4 * 512, 4 * 4 * 100  # Keras' transposed-conv fans
    limit = np.sqrt(6 / (fan_in + fan_out))
    assert k.max() <= limit and k.max() > 0.9 * limit


def test_flops_put_seed_003_far_above_the_rest():
    flops = {n: models.conv_flops(models.build(n)[0]) for n in models.NAMES}
    # the first anime64 layer alone: a 1x1x100 input scattered into 4x4x512
    assert flops["anime64"] > 2 * 100 * 16 * 512
    rest = [flops[n] for n in models.NAMES if n not in ("celeba128", "celeba64")]
    assert flops["celeba128"] > 100 * max(rest)
    # the same layers at 64x64: a quarter of the work of the 128x128 model (within the Dense layer's share)
    assert 0.2 < flops["celeba64"] / flops["celeba128"] < 0.3


@pytest.mark.parametrize("kwargs,match", [
    (dict(name="dcgan"), "unknown model 'dcgan'"),
    (dict(name="anime64", latent_dim=0), "latent_dim must be a positive int"),
    (dict(name="anime64", latent_dim=2.5), "latent_dim must be a positive int"),
    (dict(name="anime64", width=0), r"width must be a number in \(0, 8\]"),
    (dict(name="anime64", width="wide"), "width must be a number"),
    (dict(name="anime64", upsample="bilinear"), "upsample must be one of transpose, resize, subpixel"),
    (dict(name="anime64", upsample=None), "upsample must be one of"),
    (dict(name="anime64", upsample_kernel=0), r"upsample_kernel must be None or an int in 1\.\.9"),
    (dict(name="anime64", upsample_kernel=2.5), "upsample_kernel must be None or an int"),
    (dict(name="anime64", upsample_kernel=True), "upsample_kernel must be None or an int"),
])
def test_bad_arguments(kwargs, match):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=match):
        models.build(name, **kwargs)


def test_layer_table_lists_every_layer_and_the_total(capsys):
    g, _ = models.build("anime64", width=0.25, seed=0)
    models.layer_table(g)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(g.layers)   # one per layer after the input, and the total
    assert lines[0].split()[0] == type(g.layers[1]).__name__
    assert lines[-1].split() == ["total", f"{g.count_params():,}"]
    assert sum(int(line.split()[-1].replace(",", "")) for line in lines[:-1]) == g.count_params()


@pytest.mark.parametrize("upsample", models.UPSAMPLES)
@pytest.mark.parametrize("name", models.NAMES)
def test_no_two_layers_start_with_the_same_kernel(name, upsample):
    """A seeded Keras initializer reused for layers of one shape draws the same values for each: Nagendra's
    models started with identical transposed convolutions (G) and four identical strided ones (D)."""
    import itertools
    for net in models.build(name, width=0.125, seed=0, upsample=upsample):
        kernels = [layer.get_weights()[0] for layer in net.layers
                   if layer.get_weights() and layer.get_weights()[0].ndim >= 2]
        assert len(kernels) >= 4
        for a, b in itertools.combinations(kernels, 2):
            assert a.shape != b.shape or not np.array_equal(a, b), f"{net.name}: two identical kernels"


def test_celeba64_keeps_the_recipes_glorot_init():
    g, d = models.build("celeba64", width=0.25, seed=3)
    for net in (g, d):
        for layer in net.layers:
            if layer.__class__.__name__ in ("Conv2D", "Conv2DTranspose", "Dense"):
                k = layer.get_weights()[0]
                rf = int(np.prod(k.shape[:-2])) if k.ndim == 4 else 1
                fan_in, fan_out = rf * k.shape[-2], rf * k.shape[-1]
                limit = np.sqrt(6 / (fan_in + fan_out))
                assert k.max() <= limit and k.max() > 0.9 * limit, layer.name
    assert not [layer for layer in g.layers + d.layers if "Normalization" in layer.__class__.__name__]
    assert g.output.shape[1:] == (64, 64, 3) and g.input.shape[-1] == 32


@pytest.mark.parametrize("recipe,norms", [("dcgan28", 2), ("anime64", 3), ("eyes128", 0),
                                          ("celeba128_rmsprop", 0), ("celeba64_rmsprop", 0),
                                          ("eyes128_modern", 0), ("eyes128_wgan_gp", 2)])
def test_a_recipe_builds_its_models_own_discriminator(recipe, norms):
    """``from_recipe`` used to put batch norm into every discriminator (the recipes' default d_norm was
    "batch"), also into Chen's and Nagendra's, which have none; a recipe's d_norm now replaces the model's
    own normalisation only when it names one (WGAN-GP's layer norm)."""
    from ganutils.train import GANTrainer
    d = GANTrainer.from_recipe(recipe, width=0.125).discriminator
    assert len([layer for layer in d.layers if "Normalization" in layer.__class__.__name__]) == norms
    d = GANTrainer.from_recipe("eyes128", width=0.125, d_norm="batch").discriminator
    assert len([layer for layer in d.layers if "BatchNormalization" in layer.__class__.__name__]) == 2


# --- upsampling: transposed convolutions, resize-convolution, sub-pixel convolution ---------------------

#: How many times each generator doubles its feature maps (its stride-2 transposed convolutions).
DOUBLINGS = {"celeba28": 2, "eyes128": 3, "anime64": 4, "celeba128": 3, "celeba64": 2}


def _doublings(g):
    return [layer for layer in g.layers if layer.__class__.__name__ == "Conv2DTranspose"
            and tuple(layer.strides) == (2, 2) and layer.output.shape[1] == 2 * layer.input.shape[1]]


@pytest.mark.parametrize("upsample", models.UPSAMPLES)
@pytest.mark.parametrize("name", models.NAMES)
def test_every_upsample_option_draws_images_of_the_model_s_size_in_range(name, upsample):
    g, d = models.build(name, width=0.125, seed=0, upsample=upsample)
    size, latent = models.RECIPES[name]["image_size"], models.RECIPES[name]["latent_dim"]
    z = np.random.default_rng(0).normal(size=(4, latent)).astype("float32") * 3
    x = np.asarray(g(z, training=False))
    assert x.shape == (4, size, size, 3) and x.dtype == np.float32
    assert np.all(x >= -1) and np.all(x <= 1) and x.std() > 0
    assert tuple(d(x, training=False).shape) == (4, 1)


@pytest.mark.parametrize("name", models.NAMES)
def test_transpose_is_the_recipe_as_written(name):
    """The default builds the recipe's layers with the recipe's seeded weights (so the shipped generators and
    saved runs load): every doubling a stride-2 transposed convolution, no layer named up*."""
    g, _ = models.build(name, width=0.25, seed=0)
    same, _ = models.build(name, width=0.25, seed=0, upsample="transpose")
    for a, b in zip(g.get_weights(), same.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(_doublings(g)) == DOUBLINGS[name]
    assert not [layer.name for layer in g.layers if layer.name.startswith("up")]


@pytest.mark.parametrize("upsample,kinds", [("resize", ("resize", "conv")),
                                            ("subpixel", ("conv", "shuffle"))])
@pytest.mark.parametrize("name", models.NAMES)
def test_resize_and_subpixel_replace_each_doubling_by_named_layers(name, upsample, kinds):
    g, _ = models.build(name, width=0.125, seed=0, upsample=upsample)
    transpose, _ = models.build(name, width=0.125, seed=0)
    n = DOUBLINGS[name]
    assert [layer.name for layer in g.layers if layer.name.startswith("up")] == \
        [f"up{i}_{k}" for i in range(1, n + 1) for k in kinds]
    assert not _doublings(g)
    for i in range(1, n + 1):
        conv = g.get_layer(f"up{i}_conv")
        assert conv.__class__.__name__ == "Conv2D" and tuple(conv.strides) == (1, 1)
        assert tuple(conv.kernel_size) == (3, 3)
        out = g.get_layer(f"up{i}_{kinds[-1]}").output
        assert out.shape[1] == 2 * g.get_layer(f"up{i}_{kinds[0]}").input.shape[1]
    # the stems (celeba28's 2 -> 7, anime64's 1 -> 4) and eyes128's stride-1 transposed convolution stay
    kept = [layer.__class__.__name__ for layer in g.layers].count("Conv2DTranspose")
    assert kept == [layer.__class__.__name__ for layer in transpose.layers].count("Conv2DTranspose") - n
    # the other layers start from the same seeded weights as the recipe's
    others = [layer.get_weights() for layer in g.layers if not layer.name.startswith("up")]
    theirs = [layer.get_weights() for layer in transpose.layers if layer not in _doublings(transpose)]
    for a, b in zip(others, theirs, strict=True):
        for wa, wb in zip(a, b, strict=True):
            np.testing.assert_array_equal(wa, wb)


def test_icnr_starts_the_sub_pixel_convolution_without_a_grid():
    """Aitken et al. 2017: the four sub-pixels of each shuffled output start equal, i.e. the layer starts as
    a convolution upsampled by nearest neighbour."""
    import keras
    g, _ = models.build("anime64", width=0.25, seed=0, upsample="subpixel")
    conv = g.get_layer("up2_conv")
    k = conv.get_weights()[0]
    c = k.shape[-1] // 4
    for s in range(1, 4):
        np.testing.assert_array_equal(k[..., :c], k[..., s * c:(s + 1) * c])
    assert np.unique(k[..., :c]).size > 0.9 * k[..., :c].size   # a random kernel, not a constant
    upto = keras.Model(g.input, g.get_layer("up2_shuffle").output)
    y = np.asarray(upto(np.random.default_rng(0).normal(size=(2, 100)).astype("float32"), training=False))
    for i, j in ((0, 1), (1, 0), (1, 1)):
        np.testing.assert_allclose(y[:, i::2, j::2], y[:, 0::2, 0::2], rtol=1e-5, atol=1e-6)
    assert y.std() > 0


def test_a_sub_pixel_generator_clones_serialises_and_keeps_its_precision():
    """The EMA copies the generator with keras.models.clone_model; a config round trip needs the custom
    layer and initializer registered; mixed precision leaves no global policy behind."""
    import keras
    g, _ = models.build("celeba64", width=0.125, seed=1, upsample="subpixel", mixed_precision=True)
    assert keras.config.dtype_policy().name == "float32"
    assert g.get_layer("up1_shuffle").dtype_policy.name.startswith("mixed")
    z = np.random.default_rng(0).normal(size=(2, 32)).astype("float32")
    clone = keras.models.clone_model(g)
    clone.set_weights(g.get_weights())
    np.testing.assert_allclose(np.asarray(clone(z)), np.asarray(g(z)), atol=1e-6)
    again = keras.models.model_from_json(g.to_json())
    assert [layer.name for layer in again.layers] == [layer.name for layer in g.layers]
    assert again.output.shape[1:] == (64, 64, 3)


def test_upsample_kernel_changes_only_the_doubling_layers():
    """eyes128 with 4x4 transposed kernels (divisible by the stride): the stride-1 transposed convolution
    keeps its 5x5 kernel."""
    g, _ = models.build("eyes128", width=0.125, seed=0, upsample_kernel=4)
    assert [tuple(layer.kernel_size) for layer in _doublings(g)] == [(4, 4)] * 3
    kept = [layer for layer in g.layers if layer.__class__.__name__ == "Conv2DTranspose"
            and tuple(layer.strides) == (1, 1)]
    assert [tuple(layer.kernel_size) for layer in kept] == [(5, 5)]
    assert g.output.shape[1:] == (128, 128, 3)
    g, _ = models.build("anime64", width=0.125, seed=0, upsample="resize", upsample_kernel=4)
    assert tuple(g.get_layer("up4_conv").kernel_size) == (4, 4)


def test_conv_flops_counts_each_upsample_option():
    """anime64 at width 1, counted by hand: a 4x4 stride-2 transposed convolution from h x h x cin costs
    2·h²·cin·16·cout; nearest-neighbour x2 then a 3x3 convolution 2·(2h)²·cin·9·cout; a 3x3 convolution to
    4·cout channels at h x h, shuffled, the same."""
    layers = [(4, 512, 256), (8, 256, 128), (16, 128, 64), (32, 64, 3)]   # (h, cin, cout) of each doubling
    flops = {u: models.conv_flops(models.build("anime64", upsample=u)[0]) for u in models.UPSAMPLES}
    extra = sum(2 * (2 * h) ** 2 * cin * 9 * cout - 2 * h * h * cin * 16 * cout
                for h, cin, cout in layers)
    assert flops["resize"] - flops["transpose"] == extra
    assert flops["subpixel"] == flops["resize"]
    assert flops["resize"] / flops["transpose"] == pytest.approx(1.92, abs=0.01)


def test_a_recipe_s_upsample_reaches_the_generator():
    from ganutils.train import GANTrainer
    g = GANTrainer.from_recipe("anime64", width=0.125, upsample="resize").generator
    assert g.get_layer("up1_resize") is not None
