"""scripts/train_shipped.py: how the shipped generators are trained in sittings and exported."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import train_shipped  # noqa: E402


def test_split_is_fixed_and_disjoint():
    held, val, train = train_shipped.split(100, 10, 20)
    assert len(held) == 10 and len(val) == 20 and len(train) == 70
    assert len(set(held) | set(val) | set(train)) == 100
    again = train_shipped.split(100, 10, 20)
    assert all(np.array_equal(a, b) for a, b in zip((held, val, train), again))
    with pytest.raises(ValueError, match="cannot spare"):
        train_shipped.split(30, 10, 20)


def test_the_upsampling_options_are_the_models_and_a_wrong_one_is_refused_before_training(capsys):
    from ganutils import models
    assert train_shipped.UPSAMPLES == models.UPSAMPLES
    assert all(c["upsample"] in models.UPSAMPLES for c in train_shipped.SHIPPED.values())
    with pytest.raises(SystemExit):
        train_shipped.main(["faces28", "--data", "x", "--out", "y", "--upsample", "bilinear"])
    assert "invalid choice: 'bilinear'" in capsys.readouterr().err


def test_the_discriminator_norms_are_the_models_and_a_wrong_one_is_refused_before_training(capsys):
    from ganutils import models
    assert train_shipped.D_NORMS == models.D_NORMS
    with pytest.raises(SystemExit):
        train_shipped.main(["eyes128", "--data", "x", "--out", "y", "--d-norm", "instance"])
    assert "invalid choice: 'instance'" in capsys.readouterr().err


def test_sittings_resume_and_export_a_card_with_its_curve(tmp_path, monkeypatch):
    from PIL import Image
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")    # the script must not change it: it is the reader's
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(96):   # small "photos": a folder, as the real data are
        Image.fromarray(rng.integers(0, 256, (40, 36, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")
    args = ["faces28", "--data", str(folder), "--out", str(tmp_path / "run"), "--width", "0.125",
            "--n-held", "16", "--n-val", "16", "--eval-every", "2", "--mixed-precision", "false"]
    assert train_shipped.main(args + ["--steps", "4", "--sitting-steps", "2"]) == 0
    first = json.loads((tmp_path / "run" / "curve.json").read_text())
    assert first["steps_done"] == 2 and first["images"] == [64, 16, 16]
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    assert train_shipped.main(args + ["--steps", "4", "--export", "--package-folder", str(pkg),
                                      "--progress", str(tmp_path / "progress.png")]) == 0
    second = json.loads((tmp_path / "run" / "curve.json").read_text())
    assert second["steps_done"] == 4                                  # resumed at 2, not restarted
    assert [s for s, _ in second["history"]["swd_val_ema"]] == [2, 4]
    card = json.loads((pkg / "manifest.json").read_text())["faces28"]
    assert card["steps"] == 4 and card["curve"]["points"][-1][0] == 4 * 64
    assert card["weights_terms"].startswith("The weights were trained on CelebA")
    assert card["memorisation"]["ratio"] > 0 and card["held_out_images"] == 16
    assert card["upsample"] == train_shipped.SHIPPED["faces28"]["upsample"]   # the table's option
    assert card["checkerboard"]["samples"] > 0 and card["checkerboard"]["real"] > 0
    sheet = np.asarray(Image.open(tmp_path / "progress.png"))
    assert sheet.shape[1] >= 6 * 120 and sheet.dtype == np.uint8


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_run_started_in_the_background_stops_on_a_signal_and_saves(tmp_path, sig):
    """A shell starts ``cmd &`` with SIGINT ignored: ``kill -INT`` of such a run did nothing, and the
    run went on past where it was asked to stop. Both signals must save a checkpoint and stop it."""
    import os
    import signal
    import subprocess
    import time
    from PIL import Image
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(96):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")
    out = tmp_path / "run"
    cmd = [sys.executable, str(ROOT / "scripts" / "train_shipped.py"), "faces28", "--data", str(folder),
           "--out", str(out), "--width", "0.125", "--n-held", "16", "--n-val", "16", "--eval-every", "100000",
           "--mixed-precision", "false", "--steps", "100000"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=ROOT, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        seen = []
        while not any(ln.startswith("sitting:") for ln in seen):   # wait until it trains
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
        time.sleep(5)
        proc.send_signal(getattr(signal, sig))
        rest, _ = proc.communicate(timeout=300)
        rest = "".join(seen) + rest
    finally:
        proc.kill()
    assert proc.returncode == 130, rest[-2000:]
    match = [ln for ln in rest.splitlines() if ln.startswith("interrupted at step")]
    assert match, rest[-2000:]
    step = int(match[0].split()[3].rstrip(","))
    assert 0 <= step < 100000                  # stopped long before its 100,000 steps
    if step > 0:                                # what fit saves on Ctrl-C: tests/test_train.py
        assert (out / "run" / f"ckpt-{step}.index").exists()
