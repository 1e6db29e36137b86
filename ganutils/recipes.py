"""Recipes as data: everything that defines a training run, in one place.

A recipe names the models (``ganutils.models.build``), the objective (``ganutils.losses``), the label
trick, the optimisers, the batch size, and the modern options (critic steps, gradient penalties, EMA of
the generator, differentiable augmentation, spectral normalisation, the discriminator's normalisation).
``GANTrainer.from_recipe(name, ...)`` builds the models and the trainer from it; chapters and benchmarks
read recipes from here rather than repeating their settings.

The original recipes come from blog posts the course follows (see the book's introduction):

- ``dcgan28``: a TensorFlow 1 DCGAN for 28×28 CelebA faces (one-sided label smoothing 0.9, Adam 2e-4);
- ``eyes128``: a Keras DCGAN for 128×128 eyes (Dense → 16×16×256, Conv2DTranspose to 128, Adam 1e-4);
- ``anime64``: a fully convolutional DCGAN for 64×64 anime faces (BN momentum 0.5, noisy labels);
- ``celeba128_rmsprop``: a 128×128 CelebA GAN with RMSprop and a latent of 32;
- ``celeba64_rmsprop``: the same recipe at 64×64 (two upsamplings instead of three, the recipe's own
  Glorot initialisation): the size a 2-core CPU trains to faces.

Each has a ``*_modern`` variant: the same generator, trained with what the field found since (an EMA of
the generator, DiffAugment, a discriminator without batch normalisation where a penalty needs it). Which
options the modern variants use was measured on real photographs (``bench/time_to_quality.py``).

Every recipe has an ``upsample`` setting, "transpose" (the blog recipes' stride-2 transposed convolutions)
unless overridden with "resize" or "subpixel", the generators without a checkerboard (``ganutils.models``).
The ``*_modern`` recipes keep "transpose" for now. Measured so far (``bench/upsampling.py``, results in
``bench/results/upsampling-anime64.*``): ``anime64_modern`` at width 0.5 in bfloat16 on 9,484 real anime
faces, 600 training CPU-s per run on an AMD EPYC (Zen 4), two seeds, scored on 512 held-out faces
(SWD x1e3, floor 13.7; checkerboard, real 1.02): transpose 55.4 / 58.4 with a grid of 3.7 / 3.5, resize
46.3 / 35.2 with none (1.16 / 1.05), sub-pixel 44.2 / 63.2 with the grid back (9.5 / 4.6). Resize wins both
numbers, but by eye its faces are the most smeared of the three at this budget (transpose and sub-pixel
draw cleaner faces): the two judges disagree, and the switch waits for a longer comparison.
"""

from __future__ import annotations

import copy

__all__ = ["RECIPES", "get", "names"]

_ADAM_DCGAN = dict(name="adam", learning_rate=2e-4, beta_1=0.5)

_SEEDS = {
    "dcgan28": dict(
        what="28×28 CelebA DCGAN (TensorFlow 1 blog recipe): label smoothing 0.9, Adam 2e-4, β1 0.5",
        model="celeba28", image_size=28, latent_dim=100, batch_size=64, loss="nonsaturating",
        labels="smooth", g_optimizer=_ADAM_DCGAN, d_optimizer=_ADAM_DCGAN),
    "eyes128": dict(
        what="128×128 eyes DCGAN (Keras blog recipe): Adam 1e-4, hard labels",
        model="eyes128", image_size=128, latent_dim=100, batch_size=64, loss="nonsaturating",
        labels="hard", g_optimizer=dict(name="adam", learning_rate=1e-4),
        d_optimizer=dict(name="adam", learning_rate=1e-4)),
    "anime64": dict(
        what="64×64 anime-face DCGAN (Keras blog recipe): noisy labels, Adam 1.5e-4 / 2e-4, β1 0.5",
        model="anime64", image_size=64, latent_dim=100, batch_size=64, loss="nonsaturating",
        labels="noisy", g_optimizer=dict(name="adam", learning_rate=1.5e-4, beta_1=0.5),
        d_optimizer=dict(name="adam", learning_rate=2e-4, beta_1=0.5)),
    "celeba128_rmsprop": dict(
        what="128×128 CelebA GAN (Keras blog recipe): RMSprop 1e-4 with clipping, latent 32, batch 16",
        model="celeba128", image_size=128, latent_dim=32, batch_size=16, loss="nonsaturating",
        labels="hard", g_optimizer=dict(name="rmsprop", learning_rate=1e-4, clipvalue=1.0),
        d_optimizer=dict(name="rmsprop", learning_rate=1e-4, clipvalue=1.0)),
    "celeba64_rmsprop": dict(
        what="the 128×128 CelebA recipe at 64×64 (two upsamplings, Glorot init): RMSprop 1e-4 with "
             "clipping, latent 32, batch 16",
        model="celeba64", image_size=64, latent_dim=32, batch_size=16, loss="nonsaturating",
        labels="hard", g_optimizer=dict(name="rmsprop", learning_rate=1e-4, clipvalue=1.0),
        d_optimizer=dict(name="rmsprop", learning_rate=1e-4, clipvalue=1.0)),
}

#: Defaults every recipe starts from: the plain 2016-era training. ``d_norm=None`` builds each model's own
#: discriminator (batch norm for celeba28 and anime64, no normalisation for eyes128, celeba128 and celeba64);
#: a recipe or an override that names a normalisation replaces it. ``upsample``: how the generator doubles
#: its images' size, ``ganutils.models.build``'s option: "transpose" (the recipes' stride-2 transposed
#: convolutions, as written), "resize" (nearest neighbour + convolution, Odena et al. 2016) or "subpixel"
#: (Shi et al. 2016, ICNR-initialised); e.g. ``recipes.get("anime64_modern", upsample="resize")``.
_DEFAULTS = dict(d_steps=1, gradient_penalty=0.0, r1=0.0, ema=None, augment=None, d_norm=None,
                 spectral_norm=False, upsample="transpose")

#: What the modern variants change (measured: see ``bench/time_to_quality.py`` and the modern-objectives
#: chapter): the average of the generator's weights with StyleGAN's warm-up, and DiffAugment's three
#: policies on every image D sees, with the non-saturating loss and hard labels (the label tricks and
#: augmentation both fight an overconfident D; augmentation does it without biasing the optimum).
_MODERN = dict(labels="hard", ema=dict(decay=0.999, rampup=0.05),
               augment=dict(policy="color,translation,cutout", p=1.0))

RECIPES = {}
for _name, _r in _SEEDS.items():
    RECIPES[_name] = {**_DEFAULTS, **_r, "family": _name}
    _m = {**_DEFAULTS, **_r, **_MODERN, "family": _name}
    _m["what"] = (f"the {_name} models with an EMA of the generator (warm-up) and DiffAugment "
                  f"(colour, translation, cutout), non-saturating loss, hard labels")
    RECIPES[_name + "_modern"] = _m

#: Objectives for comparing losses on one model (the modern-objectives chapter), for every recipe's models:
#: ``<name>_wgan_gp`` (Gulrajani et al. 2017: λ = 10, 5 critic steps, Adam 1e-4 β = (0, 0.9), a layer-norm
#: critic, since a batch-norm critic breaks the per-image penalty), ``<name>_hinge_sn`` (the hinge loss with
#: spectral normalisation in D instead of BN, Miyato et al. 2018), ``<name>_lsgan`` (least squares, Mao et
#: al. 2017) and ``<name>_r1`` (non-saturating with the R1 penalty on real images, γ = 1, Mescheder et al.
#: 2018), all with hard labels.
_OBJECTIVES = {
    "wgan_gp": dict(what="trained as WGAN-GP (Gulrajani et al. 2017): λ = 10, 5 critic steps, Adam 1e-4 "
                         "β = (0, 0.9), D with layer norm instead of BN",
                    loss="wasserstein", labels="hard", d_steps=5, gradient_penalty=10.0, d_norm="layer",
                    g_optimizer=dict(name="adam", learning_rate=1e-4, beta_1=0.0, beta_2=0.9),
                    d_optimizer=dict(name="adam", learning_rate=1e-4, beta_1=0.0, beta_2=0.9)),
    "hinge_sn": dict(what="with the hinge loss and spectral normalisation in D instead of BN (Miyato et al. "
                          "2018), Adam 2e-4 β = (0.5, 0.999)",
                     loss="hinge", labels="hard", d_norm="none", spectral_norm=True,
                     g_optimizer=_ADAM_DCGAN, d_optimizer=_ADAM_DCGAN),
    "lsgan": dict(what="with the least-squares loss (Mao et al. 2017)", loss="least_squares", labels="hard"),
    "r1": dict(what="with the non-saturating loss and the R1 penalty on real images, γ = 1 (Mescheder et al. "
                    "2018)", loss="nonsaturating", labels="hard", r1=1.0),
}
for _name in _SEEDS:
    for _suffix, _o in _OBJECTIVES.items():
        RECIPES[f"{_name}_{_suffix}"] = {**RECIPES[_name], **_o, "family": _name,
                                         "what": f"the {_name} models {_o['what']}"}


def names():
    """The recipe names, in a stable order."""
    return tuple(RECIPES)


def get(name, **overrides):
    """A deep copy of recipe ``name`` with ``overrides`` applied (keys must exist in the recipe).

    Raises ``ValueError`` naming the valid recipes for an unknown name, or the valid keys for an unknown
    override."""
    if name not in RECIPES:
        import difflib
        close = difflib.get_close_matches(str(name), RECIPES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown recipe {name!r}{hint}: expected one of {', '.join(RECIPES)}")
    recipe = copy.deepcopy(RECIPES[name])
    unknown = sorted(set(overrides) - set(recipe))
    if unknown:
        raise ValueError(f"unknown recipe setting {unknown[0]!r}: a recipe has "
                         f"{', '.join(sorted(recipe))}")
    recipe.update(copy.deepcopy(overrides))
    recipe["name"] = name
    return recipe
