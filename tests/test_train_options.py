"""The trainer's options (losses, critic steps, penalties, EMA, augmentation, recipes) and the promises
around them: exact resume without global switches, a clear policy for resuming with changed settings,
run folders that hold one run, models checked before training."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
import keras

from ganutils import models
from ganutils.train import GANTrainer

IMAGES = np.random.default_rng(0).uniform(-1, 1, (96, 28, 28, 3)).astype("float32")


def dataset(images=IMAGES, batch=16):
    return (tf.data.Dataset.from_tensor_slices(images).shuffle(len(images), seed=1).repeat()
            .batch(batch, drop_remainder=True))


def trainer(ckpt=None, name="celeba28", d_norm=None, **kw):
    g, d = models.build(name, width=0.125, seed=3, d_norm=d_norm)
    return GANTrainer(g, d, checkpoint_dir=ckpt, seed=5, **kw)


MODERN = dict(ema=dict(decay=0.99), augment="color,translation,cutout", d_steps=2, labels="noisy")


def _weights(t):
    """Every weight of the run: generator, discriminator and, when kept, the EMA generator."""
    extra = list(t.ema.model.variables) if t.ema is not None else []
    return [v.numpy() for v in t.generator.variables + t.discriminator.variables + extra]


def _optimiser_state(t):
    return [v.numpy() for o in (t.g_optimizer, t.d_optimizer) for v in o.variables]


def _relative_difference(a, b):
    """The largest difference of two lists of arrays, each relative to its array's largest magnitude."""
    a, b = [np.asarray(x, np.float64) for x in a], [np.asarray(x, np.float64) for x in b]
    assert [x.shape for x in a] == [x.shape for x in b]
    return max(float(np.max(np.abs(x - y))) / max(float(np.max(np.abs(x))), 1e-12)
               for x, y in zip(a, b) if x.size)


def _series(history):
    """The history's per-step losses and metric values as arrays (the clock left out: it differs)."""
    return [np.asarray(history[k], np.float64) for k in sorted(history) if k != "time"]


FIT = dict(progress=False, checkpoint_every=2, sample_every=3, metric_every=3, metric_samples=8,
           metrics={"mean": lambda x: float(np.mean(x))})


@pytest.mark.parametrize("options", [
    MODERN,
    dict(loss="wasserstein", gradient_penalty=10.0, d_steps=3, d_norm="layer",
         augment=dict(p=0.5, adaptive=True, speed_images=500)),
    dict(loss="hinge", r1=1.0, ema=dict(decay=0.9)),
], ids=["ema-augment-dsteps", "wgan-gp-ada", "hinge-r1-ema"])
def test_resume_restores_the_state_exactly_and_continues_within_run_to_run_noise(tmp_path, options):
    """What "exact resume" promises, without TensorFlow's op determinism:

    - the state a sitting restores (weights, EMA, optimiser slots, step, data position and so the random
      streams keyed on it, ADA's p) is bit for bit the state the last sitting saved;
    - the continued run differs from an uninterrupted one by at most max(10 × the difference between two
      uninterrupted runs, measured here, a relative 1e-6): on some CPUs (an Intel Xeon with AMX) oneDNN's
      kernels are not bit-reproducible from run to run, so two uninterrupted runs differ too.
    """
    options = dict(options)
    d_norm = options.pop("d_norm", None)
    a = trainer(tmp_path / "a", d_norm=d_norm, **options)
    whole = a.fit(dataset(), 6, **FIT)
    a2 = trainer(tmp_path / "a2", d_norm=d_norm, **options)
    whole2 = a2.fit(dataset(), 6, **FIT)
    noise = max(_relative_difference(_weights(a), _weights(a2)),
                _relative_difference(_series(whole), _series(whole2)))

    first = trainer(tmp_path / "b", d_norm=d_norm, **options)
    first.fit(dataset(), 3, **FIT)
    b = trainer(tmp_path / "b", d_norm=d_norm, resume=True, **options)
    position = iter(b._stream(dataset()))
    assert b.restore(position) == 3
    for saved, restored in zip(_weights(first) + _optimiser_state(first), _weights(b) + _optimiser_state(b)):
        np.testing.assert_array_equal(saved, restored)
    if a.augment is not None:
        assert float(first.augment.p.numpy()) == float(b.augment.p.numpy())
    # the data position: the next batch (images, noise, label uniforms) is the uninterrupted run's 4th
    reference = iter(trainer(None, d_norm=d_norm, **options)._stream(dataset()).skip(3))
    for x, y in zip(next(position), next(reference)):
        np.testing.assert_array_equal(x.numpy(), y.numpy())

    resumed = b.fit(dataset(), 6, **FIT)
    assert resumed["time"][-1][0] == whole["time"][-1][0] == 6
    assert sorted(resumed) == sorted(whole)
    assert [len(resumed[k]) for k in sorted(whole) if k != "time"] == [
        len(whole[k]) for k in sorted(whole) if k != "time"]
    tolerance = max(10 * noise, 1e-6)
    assert _relative_difference(_weights(a), _weights(b)) <= tolerance
    assert _relative_difference(_series(whole), _series(resumed)) <= tolerance
    if a.ema is not None:
        assert "mean_ema" in whole and len(whole["mean_ema"]) == 2
    if a.augment is not None:
        assert float(a.augment.p.numpy()) == pytest.approx(float(b.augment.p.numpy()), rel=tolerance)
    assert tf.random.normal([2]).shape == (2,)   # unseeded ops raise under global op determinism


UNDER_DETERMINISM_RESUME = textwrap.dedent("""
    import sys, tempfile
    import numpy as np, tensorflow as tf
    from ganutils.train import GANTrainer
    x = np.random.default_rng(0).uniform(-1, 1, (96, 28, 28, 3)).astype("float32")
    def data():
        return tf.data.Dataset.from_tensor_slices(x).shuffle(96, seed=1).repeat().batch(16, drop_remainder=True)
    def trainer(folder, **kw):
        return GANTrainer.from_recipe("dcgan28_modern", width=0.125, seed=1, out_dir=folder, **kw)
    def weights(t):
        return np.concatenate([v.numpy().ravel() for v in t.generator.variables + t.ema.model.variables])
    tmp = tempfile.mkdtemp()
    a = trainer(tmp + "/a"); a.fit(data(), 4, progress=False, checkpoint_every=2)
    a2 = trainer(tmp + "/a2"); a2.fit(data(), 4, progress=False, checkpoint_every=2)
    trainer(tmp + "/b").fit(data(), 2, progress=False, checkpoint_every=2)
    b = trainer(tmp + "/b", resume=True); b.fit(data(), 4, progress=False, checkpoint_every=2)
    print(float(np.max(np.abs(weights(a) - weights(a2)))), float(np.max(np.abs(weights(a) - weights(b)))))
""")


def test_resume_is_bit_exact_where_the_reader_switched_determinism_on():
    """With TF_DETERMINISTIC_OPS=1 (the reader's switch; the library never sets it) a resumed run equals an
    uninterrupted one bit for bit wherever two uninterrupted runs do. (TensorFlow's op determinism
    covers its own kernels; whether oneDNN's are reproducible depends on the CPU: on an AMD Zen 4 they
    were with and without the switch. Where two uninterrupted runs differ even so, the resumed run may
    differ by no more than 10 times that.)"""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    res = subprocess.run([sys.executable, "-c", UNDER_DETERMINISM_RESUME], capture_output=True, text=True,
                         cwd=root, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_DETERMINISTIC_OPS="1"),
                         timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    run_to_run, resumed = map(float, res.stdout.split()[-2:])
    if run_to_run == 0:
        assert resumed == 0, f"resumed run differs by {resumed} where two uninterrupted runs are identical"
    else:
        assert resumed <= 10 * run_to_run


def test_every_loss_trains_and_the_critic_takes_d_steps_updates_per_generator_update():
    for loss in ("minimax", "hinge", "least_squares"):
        h = trainer(loss=loss).fit(dataset(), 2, progress=False)
        assert np.isfinite(h["d_loss"]).all() and np.isfinite(h["g_loss"]).all()
    t = trainer(d_steps=3, loss="wasserstein", gradient_penalty=10.0, d_norm="layer")
    t.fit(dataset(), 2, progress=False)
    assert int(t.d_optimizer.iterations.numpy()) == 6 and int(t.g_optimizer.iterations.numpy()) == 2


GLOBAL_STATE = textwrap.dedent("""
    import numpy as np, tensorflow as tf
    from ganutils import models
    from ganutils.train import GANTrainer
    g, d = models.build("celeba28", width=0.125, seed=3)
    t = GANTrainer(g, d, seed=1, ema={"decay": 0.9}, augment="color")
    x = np.zeros((32, 28, 28, 3), "float32")
    t.fit(tf.data.Dataset.from_tensor_slices(x).repeat().batch(16, drop_remainder=True), 2,
          progress=False)
    print(tf.random.normal([2]).shape)
""")


def test_the_reader_s_unseeded_random_ops_keep_working():
    res = subprocess.run([sys.executable, "-c", GLOBAL_STATE], capture_output=True, text=True,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "(2,)"


def test_learning_rate_given_now_wins_on_resume_and_the_trainer_says_so(tmp_path, capsys):
    opt = dict(name="adam", learning_rate=2e-4, beta_1=0.5)
    trainer(tmp_path, g_optimizer=opt, d_optimizer=opt).fit(dataset(), 2, progress=False)
    slow = dict(opt, learning_rate=1e-5)
    t = trainer(tmp_path, g_optimizer=slow, d_optimizer=slow, resume=True)
    capsys.readouterr()
    t.fit(dataset(), 3, progress=False)
    said = capsys.readouterr().out
    assert "g_optimizer learning_rate 0.0002 -> 1e-05" in said
    assert float(t.g_optimizer.learning_rate.numpy()) == pytest.approx(1e-5)
    assert float(t.d_optimizer.learning_rate.numpy()) == pytest.approx(1e-5)


def test_another_optimiser_class_or_loss_is_refused_before_anything_loads(tmp_path):
    trainer(tmp_path).fit(dataset(), 2, progress=False)
    rms = dict(name="rmsprop", learning_rate=1e-4)
    with pytest.raises(ValueError, match=r"(?s)trained differently.*g_optimizer class: checkpoint Adam, "
                                         r"now RMSprop.*resume=False"):
        trainer(tmp_path, g_optimizer=rms, d_optimizer=rms, resume=True)
    with pytest.raises(ValueError, match=r"loss: checkpoint 'nonsaturating', now 'hinge'"):
        trainer(tmp_path, loss="hinge", resume=True)
    with pytest.raises(ValueError, match=r"EMA of the generator: checkpoint off, now on"):
        trainer(tmp_path, ema=dict(decay=0.9), resume=True)


def test_two_runs_into_one_folder_do_not_mix(tmp_path, capsys):
    import imageio.v3 as iio
    trainer(out_dir=tmp_path).fit(dataset(), 10, progress=False, sample_every=5)
    assert iio.imread(tmp_path / "progress.gif", index=None).shape[0] == 3
    trainer(out_dir=tmp_path).fit(dataset(), 4, progress=False, sample_every=2)
    assert "moved to" in capsys.readouterr().out
    assert iio.imread(tmp_path / "progress.gif", index=None).shape[0] == 3      # steps 0, 2, 4 only
    assert [p.name for p in sorted((tmp_path / "samples").iterdir())] == [
        "step_000000.png", "step_000002.png", "step_000004.png"]
    old = list((tmp_path / "previous-runs").iterdir())
    assert len(old) == 1 and (old[0] / "progress.gif").is_file()              # kept, not deleted


def test_a_64px_run_into_a_folder_holding_a_28px_run_finishes_and_reports(tmp_path):
    trainer(out_dir=tmp_path).fit(dataset(), 2, progress=False)
    g, d = models.build("anime64", width=0.0625, seed=1)
    x = np.zeros((32, 64, 64, 3), "float32")
    ds = tf.data.Dataset.from_tensor_slices(x).repeat().batch(16, drop_remainder=True)
    GANTrainer(g, d, out_dir=tmp_path).fit(ds, 2, progress=False)
    assert (tmp_path / "progress.gif").is_file() and (tmp_path / "curves.png").is_file()


def test_a_failing_report_does_not_lose_the_training(tmp_path, monkeypatch):
    from ganutils import viz
    t = trainer(tmp_path)
    monkeypatch.setattr(viz, "make_gif", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.warns(RuntimeWarning, match=r"training finished and was saved \(step 3\).*disk full"):
        h = t.fit(dataset(), 3, progress=False)
    assert len(h["d_loss"]) == 3
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-3")


def test_models_the_trainer_cannot_train_are_refused_with_a_fix():
    g, d = models.build("celeba28", width=0.125, seed=1)
    d.trainable = False                                      # the Keras 2 combined-model recipe
    with pytest.raises(ValueError, match=r"discriminator has trainable = False.*set discriminator"
                                         r"\.trainable = True"):
        GANTrainer(g, d)
    d.trainable = True
    for layer in g.layers:
        layer.trainable = False
    g.trainable = True
    with pytest.raises(ValueError, match="generator has no trainable weights"):
        GANTrainer(g, d)
    g, _ = models.build("celeba28", width=0.125, seed=1)
    _, d64 = models.build("anime64", width=0.125, seed=1)
    with pytest.raises(ValueError, match=r"generator's images \(28, 28, 3\) do not fit the "
                                         r"discriminator's input \(64, 64, 3\)"):
        GANTrainer(g, d64)
    two = keras.Sequential([keras.Input((28, 28, 3)), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"one logit per image.*\(None, 2\)"):
        GANTrainer(g, two)


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="d_steps must be an int >= 1"):
        trainer(d_steps=0)
    with pytest.raises(ValueError, match="gradient_penalty must be a number >= 0"):
        trainer(gradient_penalty=-1)
    with pytest.raises(ValueError, match="unknown loss"):
        trainer(loss="wgan-gpp")


def test_from_recipe_builds_the_recipe_and_owns_its_folder(tmp_path):
    t = GANTrainer.from_recipe("anime64_modern", width=0.0625, out_dir=tmp_path, seed=2)
    assert t.generator.output_shape == (None, 64, 64, 3)
    assert t.ema is not None and t.augment is not None and t.labels == "hard"
    assert t.recipe["name"] == "anime64_modern" and t.recipe["width"] == 0.0625
    t = GANTrainer.from_recipe("anime64_wgan_gp", width=0.0625)
    assert t.d_steps == 5 and t.loss.name == "wasserstein" and t.gp_weight == 10.0
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in t.discriminator.layers)
    t = GANTrainer.from_recipe("dcgan28", width=0.125, labels="hard")
    assert t.labels == "hard" and t.ema is None
    with pytest.raises(ValueError, match="unknown recipe 'anime46'.*did you mean 'anime64'"):
        GANTrainer.from_recipe("anime46")
    with pytest.raises(ValueError, match="unknown recipe setting 'learning_rate'"):
        GANTrainer.from_recipe("anime64", learning_rate=1e-3)


def test_the_ema_generator_draws_the_pictures_and_both_are_measured(tmp_path):
    t = trainer(tmp_path, ema=dict(decay=0.9))
    h = t.fit(dataset(), 4, progress=False, sample_every=2, metric_every=2, metric_samples=8,
              metrics={"m": lambda x: float(np.abs(x).mean())})
    assert [s for s, _ in h["m"]] == [2, 4] and [s for s, _ in h["m_ema"]] == [2, 4]
    ema_better = h["m_ema"][-1][1] <= h["m"][-1][1]
    assert (t.sampler() is t.ema.model) == ema_better
    np.testing.assert_array_equal(t.sample(which="ema"), t.ema.model(t.fixed_noise(), training=False))
    assert json.loads((tmp_path / "history.json").read_text())["m_ema"] == h["m_ema"]


UNDER_DETERMINISM = textwrap.dedent("""
    import sys
    sys.path.insert(0, "bench")
    import numpy as np, tensorflow as tf
    from run import gemm_flops
    from ganutils.train import GANTrainer
    assert gemm_flops(n=64, seconds=0.01) > 0
    t = GANTrainer.from_recipe("dcgan28_modern", width=0.125, seed=1, d_steps=2)
    x = np.zeros((64, 28, 28, 3), "float32")
    h = t.fit(tf.data.Dataset.from_tensor_slices(x).repeat().batch(16, drop_remainder=True), 2,
              progress=False)
    print(len(h["d_loss"]))
""")


def test_the_trainer_and_the_bench_run_where_the_reader_switched_determinism_on():
    """TF_DETERMINISTIC_OPS=1 makes unseeded random ops raise: none of ours may be unseeded."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    res = subprocess.run([sys.executable, "-c", UNDER_DETERMINISM], capture_output=True, text=True, cwd=root,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_DETERMINISTIC_OPS="1"),
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "2"


def test_penalties_under_loss_scaling_match_float32():
    """Mixed float16 (a GPU's policy, here on the CPU) wraps the optimisers in a LossScaleOptimizer,
    which multiplies the loss by ~32,768: the penalty's inner gradient must not see that factor."""
    prev = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        g16, d16 = models.build("celeba28", width=0.125, seed=3, d_norm="layer")
    finally:
        keras.config.set_dtype_policy(prev)
    g32, d32 = models.build("celeba28", width=0.125, seed=3, d_norm="layer")
    out = {}
    for name, (g, d) in {"float16": (g16, d16), "float32": (g32, d32)}.items():
        t = GANTrainer(g, d, loss="wasserstein", gradient_penalty=10.0, seed=5)
        out[name] = t.fit(dataset(), 2, progress=False)["d_loss"]
    assert type(t.d_optimizer).__name__ == "Adam"
    assert np.isfinite(out["float16"]).all()
    # same models and data: the first step's critic loss (penalty included) agrees to float16 precision
    assert out["float16"][0] == pytest.approx(out["float32"][0], rel=0.05, abs=0.05)


def test_progress_bar_fits_80_columns_with_wgan_sized_values():
    from tqdm import tqdm
    from ganutils import train
    for values in ({"d_loss": -123.456, "g_loss": 1234.5, "d_real": -45.678, "d_fake": -99.123},
                   {"d_loss": 0.6931, "g_loss": 0.6931, "d_real": 0.5, "d_fake": 0.4999}):
        shown = train.bar_postfix(values)
        assert list(shown) == ["d_loss", "g_loss", "D(x)", "D(G(z))"]
        postfix = ", ".join(f"{k}={v}" for k, v in shown.items())   # as tqdm's set_postfix joins them
        line = tqdm.format_meter(9999, 10000, 4 * 3600 + 675, bar_format=train.BAR_FORMAT, postfix=postfix)
        assert len(line) <= 80, line
    assert train.bar_postfix({"d_loss": 1234.5, "g_loss": 0.69314, "d_real": 0.5, "d_fake": 1e-5}) == {
        "d_loss": "1234", "g_loss": "0.693", "D(x)": "0.5", "D(G(z))": "1e-05"}
