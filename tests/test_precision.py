"""ganutils.precision: the automatic choice of mixed precision, with the machine mocked, and the probe run
for real (only that it times something: never a ratio, which depends on the machine)."""

import random

import pytest

from ganutils import precision as P

AVX512_BF16 = "fpu sse2 avx2 avx512f avx512_vnni avx512_bf16"
AMX = "fpu sse2 avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8"
NO_BF16 = "fpu sse2 avx2 avx512f"


@pytest.fixture(autouse=True)
def _fresh_state(monkeypatch):
    """Each test starts with nothing printed and nothing probed yet."""
    monkeypatch.setattr(P, "_PRINTED", set())
    monkeypatch.setattr(P, "_PROBE_CACHE", {})


def machine(monkeypatch, *, gpu=False, flags=AVX512_BF16, onednn=(True, "default"), speedup=None):
    """Mock what ``choose`` looks at; returns the list of probes run. ``flags=None``: no /proc/cpuinfo."""
    probes = []
    monkeypatch.setattr(P, "gpu_present", lambda: gpu)
    monkeypatch.setattr(P, "cpu_info", lambda path="/proc/cpuinfo": P.CpuInfo(
        "Test CPU", None if flags is None else frozenset(flags.split())))
    monkeypatch.setattr(P, "onednn_enabled", lambda: onednn)

    def fake_probe(spec=None, *, cache=True):
        probes.append(spec)
        if speedup is None:
            raise AssertionError("the probe should not run here")
        return P.ProbeResult(float32=0.2 * speedup, bfloat16=0.2, float32_wall=0.1, bfloat16_wall=0.1,
                             seconds=3.0, probe=spec or P.Probe())
    monkeypatch.setattr(P, "run_probe", fake_probe)
    return probes


# ------------------------------------------------------------------------------------- reading the CPU

def test_cpu_info_reads_model_and_bf16_flags(tmp_path):
    f = tmp_path / "cpuinfo"
    f.write_text(f"processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: {AMX}\n\n"
                 f"processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: {AMX}\n")
    info = P.cpu_info(f)
    assert info.model == "Intel(R) Xeon(R) Platinum 8480+"
    assert info.bf16_flags == ("amx_bf16", "avx512_bf16")
    f.write_text(f"model name\t: AMD EPYC\nflags\t\t: {NO_BF16}\n")
    assert P.cpu_info(f).bf16_flags == ()
    assert P.cpu_info(f).flags == frozenset(NO_BF16.split())


def test_cpu_info_without_the_file_is_unknown(tmp_path):
    info = P.cpu_info(tmp_path / "missing")
    assert info == P.CpuInfo(None, None)
    assert info.bf16_flags == ()


@pytest.mark.parametrize("env, flags, linux_x86, expected", [
    ("0", AVX512_BF16, True, False), ("false", AVX512_BF16, True, False), ("1", NO_BF16, True, True),
    ("TRUE", NO_BF16, True, True), (None, AVX512_BF16, True, True), (None, NO_BF16, True, False),
    (None, AVX512_BF16, False, False), ("yes", AVX512_BF16, True, True)])
def test_onednn_without_tensorflows_answer_follows_its_rule(monkeypatch, env, flags, linux_x86, expected):
    """TensorFlow's rule: TF_ENABLE_ONEDNN_OPTS 0/false or 1/true; unset (or anything else): on for Linux
    x86 CPUs with AVX-512 VNNI/BF16, AVX-VNNI or AMX."""
    monkeypatch.setattr(P, "_tensorflow_onednn", lambda: None)
    monkeypatch.setattr(P, "_linux_x86", lambda: linux_x86)
    monkeypatch.setattr(P, "cpu_info", lambda path="/proc/cpuinfo": P.CpuInfo("x", frozenset(flags.split())))
    if env is None:
        monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    else:
        monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", env)
    assert P.onednn_enabled()[0] is expected


def test_onednn_asks_tensorflow_first(monkeypatch):
    monkeypatch.setattr(P, "_tensorflow_onednn", lambda: False)
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")   # read by TensorFlow once, at start: its answer wins
    assert P.onednn_enabled() == (False, "TF_ENABLE_ONEDNN_OPTS=1")
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS")
    monkeypatch.setattr(P, "_tensorflow_onednn", lambda: True)
    assert P.onednn_enabled() == (True, "TensorFlow's default for this CPU")


# ------------------------------------------------------------------------------------- choose("auto")

def test_auto_on_a_gpu_is_float16_without_a_probe(monkeypatch):
    probes = machine(monkeypatch, gpu=True)
    c = P.choose("auto", verbose=False)
    assert (c.dtype, c.policy, c.mixed) == ("float16", "mixed_float16", True)
    assert "GPU" in c.reason and probes == []


def test_auto_without_bf16_units_is_float32(monkeypatch):
    probes = machine(monkeypatch, flags=NO_BF16)
    c = P.choose("auto", verbose=False)
    assert (c.dtype, c.policy, c.mixed) == ("float32", "float32", False)
    assert "no bfloat16 units" in c.reason and probes == []


def test_auto_where_the_cpu_is_unknown_is_float32(monkeypatch):
    probes = machine(monkeypatch, flags=None)
    c = P.choose("auto", verbose=False)
    assert c.dtype == "float32" and "cannot tell" in c.reason and probes == []


def test_auto_with_onednn_off_is_float32(monkeypatch):
    probes = machine(monkeypatch, onednn=(False, "TF_ENABLE_ONEDNN_OPTS=0"))
    c = P.choose("auto", verbose=False)
    assert c.dtype == "float32"
    assert c.reason == ("CPU has avx512_bf16 but oneDNN is off (TF_ENABLE_ONEDNN_OPTS=0), "
                        "and bfloat16 is slow without it")
    assert probes == []


def test_auto_with_a_faster_probe_is_bfloat16(monkeypatch):
    probes = machine(monkeypatch, flags=AMX, speedup=2.4)
    c = P.choose("auto", verbose=False)
    assert (c.dtype, c.policy) == ("bfloat16", "mixed_bfloat16")
    assert str(c) == ("bfloat16: CPU has amx_bf16+avx512_bf16, oneDNN on, "
                      "probe ran 2.40x as fast as in float32")
    assert c.probe.speedup == pytest.approx(2.4) and probes == [None]


def test_auto_with_a_probe_not_fast_enough_is_float32(monkeypatch):
    machine(monkeypatch, speedup=1.05)
    c = P.choose("auto", verbose=False)
    assert c.dtype == "float32"
    assert c.reason == ("CPU has avx512_bf16, oneDNN on, but the probe ran 1.05x as fast as in float32 "
                        "(needs 1.15x)")


def test_auto_threshold_and_probe_spec_are_passed_on(monkeypatch):
    probes = machine(monkeypatch, speedup=1.05)
    spec = P.Probe(batch=16, size=4, channels=32)
    assert P.choose("auto", probe=spec, min_speedup=1.0, verbose=False).dtype == "bfloat16"
    assert probes == [spec]
    assert P.choose("auto", min_speedup=1.1, verbose=False).dtype == "float32"


# ------------------------------------------------------------------------------------- forced modes

@pytest.mark.parametrize("mode, gpu, dtype", [
    (True, False, "bfloat16"), (True, True, "float16"), ("mixed", False, "bfloat16"),
    (False, False, "float32"), (False, True, "float32"), ("float32", False, "float32"),
    ("bfloat16", True, "bfloat16"), ("float16", False, "float16")])
def test_forced_modes_skip_detection(monkeypatch, mode, gpu, dtype):
    probes = machine(monkeypatch, gpu=gpu, flags=NO_BF16, onednn=(False, "off"))
    c = P.choose(mode)
    assert c.dtype == dtype and c.mode == mode and "asked for" in c.reason and probes == []


@pytest.mark.parametrize("mode", [None, 1, 0, "fp16", "mixed_bfloat16", "AUTO"])
def test_unknown_modes_are_refused(monkeypatch, mode):
    machine(monkeypatch)
    with pytest.raises(ValueError, match="mode must be one of"):
        P.choose(mode)


def test_a_choice_passes_through(monkeypatch):
    machine(monkeypatch)
    c = P.Choice("bfloat16", "decided earlier")
    assert P.choose(c) is c


@pytest.mark.parametrize("bad", [0, -1, True, "2"])
def test_bad_threshold_is_refused(monkeypatch, bad):
    machine(monkeypatch)
    with pytest.raises(ValueError, match="min_speedup"):
        P.choose("auto", min_speedup=bad)


# ------------------------------------------------------------------------------------- saying why, once

def test_verbose_prints_an_automatic_choice_once(monkeypatch, capsys):
    machine(monkeypatch, speedup=2.0)
    P.choose("auto")
    P.choose("auto")
    out = capsys.readouterr().out
    assert " ".join(out.split()) == ("precision bfloat16: CPU has avx512_bf16, oneDNN on, "
                                     "probe ran 2.00x as fast as in float32")
    assert all(len(line) <= 80 for line in out.splitlines())
    P.choose("auto", verbose=False)
    P.choose(True)
    P.choose(False)
    assert capsys.readouterr().out == ""


def test_oneDNN_left_off_by_default_gets_one_hint_and_is_never_switched(monkeypatch, capsys):
    machine(monkeypatch, flags="fpu sse2 avx2", onednn=(False, "TensorFlow's default for this CPU"))
    monkeypatch.setattr(P, "_linux_x86", lambda: True)
    monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS", raising=False)
    assert P.choose("auto").dtype == "float32"
    P.choose("auto")
    out = capsys.readouterr().out
    assert out.count("TF_ENABLE_ONEDNN_OPTS=1") == 1 and "restart the kernel" in " ".join(out.split())
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "TF_ENABLE_ONEDNN_OPTS" not in __import__("os").environ     # a hint, not a switch
    # the reader turned it off on purpose: no hint
    monkeypatch.setattr(P, "_PRINTED", set())
    machine(monkeypatch, flags="fpu sse2 avx2", onednn=(False, "TF_ENABLE_ONEDNN_OPTS=0"))
    P.choose("auto")
    assert "TF_ENABLE_ONEDNN_OPTS=1" not in capsys.readouterr().out
    assert P.onednn_hint() is None


def test_a_different_outcome_is_printed_again(monkeypatch, capsys):
    machine(monkeypatch, speedup=2.0)
    P.choose("auto")
    machine(monkeypatch, gpu=True)
    P.choose("auto")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("precision")]
    assert len(lines) == 2 and lines[1].startswith("precision float16: a GPU")


# ------------------------------------------------------------------------------------- the probe itself

@pytest.mark.parametrize("field", ["batch", "size", "kernel", "steps", "repeats"])
@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_probe_spec_is_checked(field, bad):
    with pytest.raises(ValueError, match=field):
        P.Probe(**{field: bad})


def test_probe_from_model_takes_the_heaviest_convolution():
    import keras
    L = keras.layers
    x_in = keras.Input((16, 16, 3), name="probe_test_in")
    x = L.Conv2D(8, 3, strides=2, padding="same", name="probe_test_small")(x_in)        # 8x8, 3 -> 8
    x = L.Conv2DTranspose(32, 5, strides=2, padding="same", name="probe_test_big")(x)   # 8 -> 16, 8 -> 32
    model = keras.Model(x_in, x, name="probe_test")
    assert P.Probe.from_model(model, batch=16) == P.Probe(batch=16, size=8, channels=32, kernel=5)
    wrapped = L.SpectralNormalization(L.Conv2D(64, 4, strides=2, padding="same"), name="probe_test_sn")
    model = keras.Model(x_in, wrapped(x), name="probe_test_wrapped")                 # 16 -> 8, 32 -> 64
    assert P.Probe.from_model(model, repeats=2) == P.Probe(size=8, channels=64, kernel=4, repeats=2)
    dense = keras.Sequential([keras.Input((4,)), L.Dense(2, name="probe_test_dense")], name="probe_dense")
    with pytest.raises(ValueError, match="no Conv2D"):
        P.Probe.from_model(dense)


def test_probe_times_both_precisions_and_leaves_the_session_alone():
    import keras
    spec = P.Probe(batch=8, size=4, channels=16, kernel=3, steps=1, repeats=2)
    policy = keras.config.dtype_policy().name
    state = random.getstate()
    before = keras.layers.Conv2D(1, 1, kernel_initializer="zeros").name
    result = P.run_probe(spec, cache=False)
    after = keras.layers.Conv2D(1, 1, kernel_initializer="zeros").name
    assert result.float32 > 0 and result.bfloat16 > 0 and result.speedup > 0
    assert result.float32_wall > 0 and result.bfloat16_wall > 0 and result.wall_speedup > 0
    assert result.seconds >= (result.float32_wall + result.bfloat16_wall) * spec.steps * spec.repeats
    assert result.probe == spec
    assert keras.config.dtype_policy().name == policy
    assert random.getstate() == state
    n = int(before.rpartition("_")[2]) if "_" in before else 0
    assert after == f"conv2d_{n + 1}"   # the probe's layers took no automatic name


def test_probe_result_is_cached_per_spec(monkeypatch):
    calls = []
    real = P._probe_step
    monkeypatch.setattr(P, "_probe_step", lambda *a: calls.append(a) or real(*a))
    spec = P.Probe(batch=4, size=2, channels=8, kernel=2, norm=False, steps=1, repeats=1)
    first = P.run_probe(spec)
    assert P.run_probe(spec) is first and len(calls) == 2     # one build per precision, once
    P.run_probe(P.Probe(batch=4, size=2, channels=8, kernel=2, norm=False, steps=1, repeats=3))
    assert len(calls) == 4


def test_dtype_policy_is_temporary(monkeypatch):
    import keras
    machine(monkeypatch)
    policy = keras.config.dtype_policy().name
    with P.dtype_policy("bfloat16") as c:
        assert keras.config.dtype_policy().name == "mixed_bfloat16" and c.dtype == "bfloat16"
        assert keras.layers.Dense(1, name="probe_test_policy").dtype_policy.name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == policy
    with pytest.raises(RuntimeError), P.dtype_policy(True):
        raise RuntimeError("inside")
    assert keras.config.dtype_policy().name == policy


def test_importing_the_module_is_cheap():
    """``import ganutils.precision`` needs no TensorFlow (only choosing does)."""
    import subprocess
    import sys
    code = "import sys, ganutils.precision; sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
