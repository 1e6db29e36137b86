"""pretrained.export stores float16 weights: weights float16 cannot hold (beyond 65,504, or so small that
they flush to zero) must not come back as inf or 0, and a diverged generator is not exported."""

import json
import shutil
import warnings

import numpy as np
import pytest

from ganutils import compare, data, pretrained


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A scored, untrained dcgan28 run at width 0.125, saved as compare_recipes saves its runs."""
    from ganutils.train import GANTrainer
    folder = tmp_path_factory.mktemp("export") / "run"
    trainer = GANTrainer.from_recipe("dcgan28", width=0.125, seed=0)
    held = data.synthetic("faces", 16, size=28, seed=4)[0]
    compare.score_run(trainer, held, folder=folder, n_samples=16, cpu_s=1.0)
    return folder


def _weights(folder):
    with np.load(folder / "generator.npz") as f:
        return [f[f"arr_{i}"] for i in range(len(f.files))]


def _edited(run_dir, tmp_path, edit):
    """A copy of the run whose float32 weights ``edit(weights)`` changed; returns (folder, weights)."""
    folder = tmp_path / "edited"
    shutil.copytree(run_dir, folder)
    weights = _weights(folder)
    edit(weights)
    np.savez(folder / "generator.npz", *weights)
    return folder, weights


def _export(folder, tmp_path, name="g"):
    return pretrained.export(folder, name, data={"name": "faces", "images": 16}, terms="generated",
                             swd=1.0, floor=0.5, folder=tmp_path / "pkg")


def _loaded(tmp_path, monkeypatch, name="g"):
    """The exported generator's weights as load() gives them, and their names."""
    monkeypatch.setattr(pretrained, "HERE", tmp_path / "pkg")
    g = pretrained.load(name)
    return g.get_weights(), pretrained._weight_names(g)


def _kernel_index(weights):
    return next(i for i, w in enumerate(weights) if w.ndim == 2)   # the dense layer's kernel


def test_a_weight_beyond_float16s_range_is_kept_in_float32_and_loads_back(run_dir, tmp_path, monkeypatch):
    def edit(weights):
        weights[_kernel_index(weights)].flat[0] = 7e4            # float16 holds at most 65,504
    folder, weights = _edited(run_dir, tmp_path, edit)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                            # numpy's cast warning was all one got
        card = _export(folder, tmp_path)
    loaded, names = _loaded(tmp_path, monkeypatch)
    k = _kernel_index(weights)
    assert loaded[k].flat[0] == np.float32(7e4) and all(np.isfinite(w).all() for w in loaded)
    np.testing.assert_array_equal(loaded[k], weights[k])          # kept in float32: exact
    assert card["float16"]["float32_weights"] == [names[k]] and names[k].startswith(f"#{k} Dense.kernel [")
    for i, (a, b) in enumerate(zip(loaded, weights)):            # the others: float16 rounding only
        np.testing.assert_allclose(a, b, rtol=0, atol=2 ** -10 * max(np.abs(b).max(), 1e-30), err_msg=str(i))
    assert pretrained.fidelity("g") < 0.01


def test_weights_that_would_flush_to_zero_in_float16_are_kept_in_float32(run_dir, tmp_path, monkeypatch):
    tiny = np.float32(1e-9) * (1 + np.arange(8, dtype=np.float32))

    def edit(weights):
        i = next(i for i, w in enumerate(weights) if w.ndim == 1 and w.size >= 8)
        weights[i][:8] = tiny
        weights[i][8:] = tiny[0]
    folder, weights = _edited(run_dir, tmp_path, edit)
    assert not np.float16(tiny).any()                             # what float16 alone would store
    card = _export(folder, tmp_path)
    loaded, names = _loaded(tmp_path, monkeypatch)
    i = next(i for i, w in enumerate(weights) if w.ndim == 1 and w.size >= 8)
    np.testing.assert_array_equal(loaded[i], weights[i])
    assert card["float16"]["float32_weights"] == [names[i]]
    assert 0 < card["float16"]["max_error"] <= 2 ** -10          # of the weights stored in float16


def test_a_diverged_generator_is_refused_naming_the_weight_and_nothing_is_written(run_dir, tmp_path):
    def edit(weights):
        weights[_kernel_index(weights)].flat[3] = np.nan
    folder, _ = _edited(run_dir, tmp_path, edit)
    with pytest.raises(ValueError, match=r"kernel.*NaN or inf.*diverged"):
        _export(folder, tmp_path)
    assert not (tmp_path / "pkg").exists() or not any((tmp_path / "pkg").iterdir())


def test_export_reads_and_writes_paths_under_home(run_dir, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(run_dir, home / "runs" / "best")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    card = pretrained.export("~/runs/best", "g", data={"name": "faces", "images": 16}, terms="generated",
                             swd=1.0, floor=0.5, folder="~/pkg")
    assert json.loads((home / "pkg" / "manifest.json").read_text())["g"]["file"] == card["file"]
    assert (home / "pkg" / "g.npz").exists() and not (tmp_path / "~").exists()


def test_a_generator_with_resize_upsampling_is_exported_with_its_option_and_loads_as_it(tmp_path, monkeypatch):
    """The card records how the generator doubles its maps; load() builds that generator (a card without
    the key means the recipes' transposed convolutions)."""
    from ganutils.train import GANTrainer
    trainer = GANTrainer.from_recipe("dcgan28", width=0.125, seed=0, upsample="resize")
    held = data.synthetic("faces", 16, size=28, seed=4)[0]
    compare.score_run(trainer, held, folder=tmp_path / "run", n_samples=16, cpu_s=1.0)
    card = _export(tmp_path / "run", tmp_path)
    assert card["upsample"] == "resize"
    monkeypatch.setattr(pretrained, "HERE", tmp_path / "pkg")
    g = pretrained.load("g")
    assert g.get_layer("up1_resize") is not None
    z = trainer.noise(0, 4)
    np.testing.assert_allclose(g(z).numpy(), trainer.generator(z).numpy(), atol=0.01)
