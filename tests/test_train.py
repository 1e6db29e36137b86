"""The training engine: the step learns, runs resume exactly, failures lose nothing."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf

from ganutils import models
from ganutils.train import GANTrainer, NonFiniteLossError, label_targets

RNG = np.random.default_rng(0)
IMAGES = RNG.uniform(-1, 1, (128, 28, 28, 3)).astype("float32")


def dataset(images=IMAGES, batch=16):
    return (tf.data.Dataset.from_tensor_slices(images).shuffle(len(images), seed=1).repeat()
            .batch(batch, drop_remainder=True))


def trainer(ckpt=None, name="celeba28", **kw):
    g, d = models.build(name, width=0.125, seed=3, mixed_precision=kw.pop("mixed_precision", False))
    kw.setdefault("labels", "noisy")
    return GANTrainer(g, d, checkpoint_dir=ckpt, seed=5, **kw)


def weights(model):
    return [v.numpy().copy() for v in model.trainable_variables]


@pytest.mark.parametrize("options", [dict(), dict(jit_compile=True), dict(mixed_precision=True)],
                         ids=["plain", "xla", "mixed"])
def test_a_step_changes_both_networks_and_losses_are_finite(options):
    t = trainer(**options)
    g0, d0 = weights(t.generator), weights(t.discriminator)
    h = t.fit(dataset(), 2, progress=False)
    assert all(np.isfinite(h[k]).all() and len(h[k]) == 2 for k in ("d_loss", "g_loss", "d_real", "d_fake"))
    assert all(0 < v < 1 for v in h["d_real"] + h["d_fake"])
    g1, d1 = weights(t.generator), weights(t.discriminator)
    assert all(not np.array_equal(a, b) for a, b in zip(g0, g1))
    assert all(not np.array_equal(a, b) for a, b in zip(d0, d1))


def test_the_keras2_frozen_discriminator_trick_is_not_what_we_do():
    """Keras 3 reads `trainable` when a model is first trained: freezing D for a combined
    model after compiling D silently freezes D's own updates too. The engine's step
    updates D whatever its `trainable` flag says later."""
    t = trainer()
    t.discriminator.trainable = True
    d0 = weights(t.discriminator)
    t.fit(dataset(), 1, progress=False)
    assert any(not np.array_equal(a, b) for a, b in zip(d0, weights(t.discriminator)))


def test_label_targets():
    u = tf.constant([[0.0], [0.5], [1.0]])
    r, f = label_targets("smooth", u, u)
    np.testing.assert_allclose(r.numpy().ravel(), 0.9)
    np.testing.assert_allclose(f.numpy().ravel(), 0.0)
    r, f = label_targets("noisy", u, u)
    np.testing.assert_allclose(r.numpy().ravel(), [1.0, 0.9, 0.8])
    np.testing.assert_allclose(f.numpy().ravel(), [0.0, 0.1, 0.2])
    with pytest.raises(ValueError, match="unknown labels 'soft'"):
        label_targets("soft", u, u)


def test_the_discriminator_learns_to_tell_real_from_noise():
    """With a frozen generator output far from the data, D(x) rises above D(G(z))."""
    t = trainer(labels="hard")
    t.g_optimizer.learning_rate.assign(0.0)
    h = t.fit(dataset(np.full((64, 28, 28, 3), 0.8, "float32")), 30, progress=False)
    assert np.mean(h["d_real"][-5:]) > 0.8 > 0.2 > np.mean(h["d_fake"][-5:])


def test_resume_is_exact(tmp_path):
    whole = trainer(tmp_path / "a").fit(dataset(), 8, progress=False, checkpoint_every=3)
    trainer(tmp_path / "b").fit(dataset(), 4, progress=False, checkpoint_every=3)
    resumed_trainer = trainer(tmp_path / "b", resume=True)
    resumed = resumed_trainer.fit(dataset(), 8, progress=False, checkpoint_every=3)
    # losses, D(x), D(G(z)): identical, step by step; only the clock differs
    assert resumed.pop("time")[-1][0] == whole.pop("time")[-1][0] == 8
    assert resumed == whole
    assert int(resumed_trainer.step.numpy()) == 8
    saved = json.loads((tmp_path / "b" / "history.json").read_text())
    assert saved["d_loss"] == whole["d_loss"]


def test_keyboard_interrupt_saves_and_fit_again_finishes(tmp_path):
    whole = trainer().fit(dataset(), 6, progress=False)
    calls = []

    def stop_at_second_call(fake):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return 0.0

    t = trainer(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        t.fit(dataset(), 6, progress=False, metrics={"probe": stop_at_second_call}, metric_every=2,
              metric_samples=4)
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-4")
    h = trainer(tmp_path, resume=True).fit(dataset(), 6, progress=False)
    assert h["d_loss"] == whole["d_loss"]


def test_what_a_run_leaves_behind(tmp_path):
    t = trainer(tmp_path, n_samples=16)
    h = t.fit(dataset(), 4, progress=False, sample_every=2,
              metrics={"mean": lambda fake: float(np.mean(fake))}, metric_every=2, metric_samples=8)
    names = sorted(p.name for p in (tmp_path / "samples").iterdir())
    assert names == ["step_000000.png", "step_000002.png", "step_000004.png"]
    import imageio.v3 as iio
    gif = iio.imread(tmp_path / "progress.gif", index=None)
    assert gif.shape[0] == 3
    assert (tmp_path / "curves.png").stat().st_size > 5000
    assert json.loads((tmp_path / "history.json").read_text()) == h
    assert [s for s, _ in h["mean"]] == [2, 4]
    # the fixed noise really is fixed: the first grid is regenerated exactly by a fresh trainer
    fresh = trainer(None, n_samples=16)
    np.testing.assert_array_equal(fresh.fixed_noise().numpy(), t.fixed_noise().numpy())


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    good = np.zeros((32, 28, 28, 3), "float32")
    bad = np.full((16, 28, 28, 3), np.nan, "float32")
    batches = np.concatenate([good, good, bad])  # steps 1-4 fine, step 5 sees NaN images
    ds = tf.data.Dataset.from_tensor_slices(batches).batch(16, drop_remainder=True).repeat()
    t = trainer(tmp_path)
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss at step 5.*last good checkpoint \(step 4\)"):
        t.fit(ds, 10, progress=False, checkpoint_every=2)
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-4")
    t2 = trainer(tmp_path, resume=True)
    t2.restore()
    assert int(t2.step.numpy()) == 4
    assert all(np.isfinite(v.numpy()).all() for v in t2.generator.variables)


def test_resuming_with_other_models_fails_clearly(tmp_path):
    trainer(tmp_path).fit(dataset(), 2, progress=False)
    g, d = models.build("celeba28", width=0.25, seed=3)
    with pytest.raises(ValueError, match=r"(?s)different models.*generator params.*resume=False.*another folder"):
        GANTrainer(g, d, checkpoint_dir=tmp_path, resume=True)
    g, d = models.build("celeba28", width=0.125, latent_dim=64, seed=3)
    with pytest.raises(ValueError, match=r"generator input: checkpoint \[100\], now \[64\]"):
        GANTrainer(g, d, checkpoint_dir=tmp_path, resume=True)


def test_bad_arguments():
    t = trainer()
    with pytest.raises(ValueError, match="fixed batch size"):
        t.fit(tf.data.Dataset.from_tensor_slices(IMAGES).batch(10), 2, progress=False)
    with pytest.raises(ValueError, match="ran out after 2 batches"):
        t.fit(tf.data.Dataset.from_tensor_slices(IMAGES[:32]).batch(16, drop_remainder=True), 5,
              progress=False)
    with pytest.raises(ValueError, match="steps must be a non-negative int"):
        t.fit(dataset(), -1, progress=False)
    with pytest.raises(ValueError, match="unknown optimizer 'adamw2'"):
        trainer(g_optimizer={"name": "adamw2"})


KILL_SCRIPT = textwrap.dedent("""
    import sys, numpy as np, tensorflow as tf
    from ganutils import models
    from ganutils.train import GANTrainer
    x = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 3)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices(x).repeat().batch(16, drop_remainder=True)
    g, d = models.build("celeba28", width=0.125, seed=3)
    GANTrainer(g, d, checkpoint_dir=sys.argv[1], seed=5).fit(ds, 100000, progress=False,
                                                             checkpoint_every=1, sample_every=10**9)
""")


def test_sigkill_while_saving_resumes_from_last_complete_checkpoint(tmp_path):
    """Checkpoints are written every step; a SIGKILL lands mid-save sooner or later."""
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    ckpt = tmp_path / "ckpt"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, str(script), str(ckpt)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600   # a wait, not a speed limit: slow machines take longer to get there
    while time.time() < deadline and len(list(ckpt.glob("ckpt-*.index"))) < 3:
        time.sleep(0.2)
    time.sleep(0.37)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    latest = tf.train.latest_checkpoint(str(ckpt))
    assert latest is not None
    step = int(latest.rsplit("-", 1)[1])
    x = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 3)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices(x).repeat().batch(16, drop_remainder=True)
    g, d = models.build("celeba28", width=0.125, seed=3)
    t = GANTrainer(g, d, checkpoint_dir=ckpt, seed=5, resume=True)
    h = t.fit(ds, step + 2, progress=False)
    assert len(h["d_loss"]) == step + 2 and np.isfinite(h["d_loss"]).all()


MIRRORED_SCRIPT = textwrap.dedent("""
    import json, sys, numpy as np, tensorflow as tf, keras
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from ganutils.train import GANTrainer

    def models():
        init = keras.initializers.RandomNormal(stddev=0.1, seed=1)
        g = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu", kernel_initializer=init),
                              keras.layers.Dense(4 * 4 * 3, activation="tanh", kernel_initializer=init),
                              keras.layers.Reshape((4, 4, 3))])
        d = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(16, activation="relu", kernel_initializer=init),
                              keras.layers.Dense(1, kernel_initializer=init)])
        return g, d

    x = np.random.default_rng(0).uniform(-1, 1, (64, 4, 4, 3)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices(x).repeat().batch(16, drop_remainder=True)
    out = {}
    g, d = models()
    out["single"] = GANTrainer(g, d, labels="noisy", seed=2).fit(ds, 5, progress=False)["d_loss"]
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        g, d = models()
    t = GANTrainer(g, d, labels="noisy", seed=2, strategy=strategy)
    out["replicas"] = t.strategy.num_replicas_in_sync
    out["mirrored"] = t.fit(ds, 5, progress=False)["d_loss"]
    print(json.dumps(out))
""")


def test_mirrored_strategy_matches_single_device(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_SCRIPT)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    res = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2
    np.testing.assert_allclose(out["mirrored"], out["single"], rtol=1e-4, atol=1e-5)


def test_checkpoints_hold_the_data_position_not_the_images(tmp_path):
    from ganutils.data import image_dataset
    t = trainer(tmp_path)
    t.fit(image_dataset("faces", 28, 16, num_images=2000, seed=0), 3, progress=False)
    sizes = sum(p.stat().st_size for p in tmp_path.glob("ckpt-3.*"))
    weights_bytes = sum(v.numpy().nbytes for v in t.generator.variables + t.discriminator.variables)
    # models + two Adam moments (~3x the trainable weights); 2,000 images would add 4.7 MB
    assert sizes < 3.2 * weights_bytes + 200_000
