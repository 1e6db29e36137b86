"""Mixed precision that decides for itself: ``choose("auto")``.

Mixed precision keeps the weights in float32 and computes in a 16-bit type. On a GPU that is float16 and
nearly always faster. On a CPU it is bfloat16, and whether it is faster depends on the CPU and on the
shapes: only CPUs with bfloat16 units (Intel's AMX, ``amx_bf16``, or AVX-512 BF16, ``avx512_bf16``: Intel
Cooper Lake, Sapphire Rapids and later, AMD Zen 4 and later) run bfloat16 convolutions fast, only through
oneDNN, and even then some kernels gain little (weight gradients: ``python bench/run.py --kernels``).
So ``choose("auto")`` asks, in order:

1. a GPU visible? mixed float16 (as ``ganutils.models.mixed_policy`` does);
2. a CPU with bfloat16 units (the ``flags`` of ``/proc/cpuinfo``; on other systems this is unknown, and
   the answer is float32)?
3. oneDNN on? (TensorFlow's own answer; by default on for Linux x86 CPUs with AVX-512 VNNI, AVX-512
   BF16, AVX-VNNI or AMX, off when ``TF_ENABLE_ONEDNN_OPTS=0``);
4. a short probe really faster in bfloat16? One transposed convolution and one convolution, each with
   batch norm and leaky ReLU, forward and backward, timed in float32 and in mixed bfloat16, interleaved,
   median of ``Probe.repeats``, in CPU seconds of this process (what the book's equal-time comparisons
   spend, and what other processes on a shared machine do not inflate); bfloat16 must be at least
   ``min_speedup`` (1.15) times faster.

The answer is a ``Choice``: the Keras dtype policy and one line saying why, e.g. ``bfloat16: CPU
has avx512_bf16, oneDNN on, probe ran 1.60x as fast as in float32``. The probe takes a few seconds
and runs at most once per process and probe shape (its result is cached). Nothing here changes the
session: no global dtype policy, no random state drawn, no Keras layer-name counter moved.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import statistics
import sys
import textwrap
import time

#: CPU flags (``/proc/cpuinfo``) of bfloat16 units: Intel AMX, AVX-512 BF16.
BF16_FLAGS = ("amx_bf16", "avx512_bf16")

#: CPU flags with which TensorFlow turns oneDNN on by default on Linux (``DefaultOneDnnPolicy``).
ONEDNN_DEFAULT_FLAGS = ("avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")

#: How much faster the probe must run in bfloat16 for ``choose("auto")`` to pick it.
MIN_SPEEDUP = 1.15

MODES = ("auto", True, False, "mixed", "float32", "bfloat16", "float16")

_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}


@dataclasses.dataclass(frozen=True)
class CpuInfo:
    """What ``/proc/cpuinfo`` says: ``model`` (e.g. ``"AMD EPYC 9B14"``, ``None`` if unknown) and
    ``flags`` (a frozenset, ``None`` where there is no ``/proc/cpuinfo``, i.e. outside Linux)."""

    model: str | None
    flags: frozenset | None

    @property
    def bf16_flags(self):
        """The bfloat16 flags this CPU has, in ``BF16_FLAGS`` order (``()`` if none or unknown)."""
        return tuple(f for f in BF16_FLAGS if self.flags and f in self.flags)


def cpu_info(path="/proc/cpuinfo"):
    """The CPU's model name and flags, read from ``path`` (Linux); a ``CpuInfo`` with ``None`` fields when
    the file is missing or unreadable. Never raises."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(1 << 20)
    except OSError:
        return CpuInfo(None, None)
    model, flags = None, set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "model name" and model is None:
            model = value.strip() or None
        elif key in ("flags", "features"):   # x86 says "flags", ARM "Features"
            flags.update(value.split())
    return CpuInfo(model, frozenset(flags))


def onednn_enabled():
    """``(on, how)``: whether TensorFlow runs oneDNN's CPU kernels in this process (its own answer when
    it can be asked, else its rule applied here), and what decided it (``"TF_ENABLE_ONEDNN_OPTS=0"`` or
    ``"TensorFlow's default for this CPU"``). TensorFlow decides once per process, from
    ``TF_ENABLE_ONEDNN_OPTS`` (``0``/``false`` off, ``1``/``true`` on) and, when it is unset or anything
    else, from the CPU (on for Linux x86 CPUs with one of ``ONEDNN_DEFAULT_FLAGS``). Without oneDNN,
    bfloat16 convolutions run about 10 times slower than float32 (the probe, 2-core Zen 4)."""
    value = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").strip().lower()
    said = {"0": False, "false": False, "1": True, "true": True}.get(value)
    how = "TensorFlow's default for this CPU" if said is None else f"TF_ENABLE_ONEDNN_OPTS={value}"
    on = _tensorflow_onednn()
    if on is not None:
        return on, how
    if said is not None:
        return said, how
    info = cpu_info()
    return _linux_x86() and bool(info.flags and info.flags & set(ONEDNN_DEFAULT_FLAGS)), how


#: What turning oneDNN on bought where TensorFlow leaves it off (``bench/run.py --onednn``): float32 CPU
#: seconds per training step with oneDNN off / on, at the book's widths, on a 2-core AVX2-only AMD EPYC.
ONEDNN_MEASURED = "anime64's float32 training step ran 1.6x faster with it on a 2-core AVX2 AMD EPYC"


def onednn_hint():
    """A few words for the reader when TensorFlow left oneDNN off by its own default on a Linux x86 CPU
    (CPUs without AVX-512 VNNI, AVX-VNNI or AMX) and the reader did not choose: how to turn it on
    (``TF_ENABLE_ONEDNN_OPTS=1`` in the environment before TensorFlow is imported: a new kernel or
    process; ganutils never sets it for you) and what it bought here. ``None`` when it does not apply."""
    if not _linux_x86():
        return None
    on, how = onednn_enabled()
    if on or how != "TensorFlow's default for this CPU":
        return None
    return ("oneDNN is off (TensorFlow's default on this CPU); set TF_ENABLE_ONEDNN_OPTS=1 before "
            f"TensorFlow is imported (restart the kernel) to turn it on: {ONEDNN_MEASURED}")


def _tensorflow_onednn():
    """TensorFlow's own answer (``IsMklEnabled``, private), or ``None`` where it cannot be asked."""
    try:
        from tensorflow.python.util import _pywrap_util_port
        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return None


def _linux_x86():
    return sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64")


def gpu_present():
    """True if TensorFlow sees a GPU."""
    import tensorflow as tf
    return bool(tf.config.list_physical_devices("GPU"))


# --------------------------------------------------------------------------------------------- the probe

@dataclasses.dataclass(frozen=True)
class Probe:
    """The shape the probe times: a transposed convolution ``channels -> channels // 2`` from ``size`` to
    ``2 * size`` pixels, then a convolution back (``kernel`` x ``kernel``, stride 2, 'same'), each followed
    by batch norm (when ``norm``) and leaky ReLU 0.2, on a batch of ``batch``; a loss on the output, the
    gradients of every weight and of the input. ``steps`` passes make one timing, ``repeats`` timings
    per precision (interleaved) give the medians.

    The default is the middle of the book's DCGANs at the widths the book trains (the anime model's
    8 -> 16 block at width 0.5). ``Probe.from_model(model)`` takes the shape of a model's heaviest
    convolution instead."""

    batch: int = 64
    size: int = 8
    channels: int = 128
    kernel: int = 4
    norm: bool = True
    steps: int = 2
    repeats: int = 5

    def __post_init__(self):
        for name in ("batch", "size", "channels", "kernel", "steps", "repeats"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Probe.{name} must be a positive int, got {value!r}")
        if self.channels < 2:
            raise ValueError(f"Probe.channels must be at least 2, got {self.channels!r}")

    @classmethod
    def from_model(cls, model, batch=64, **options):
        """A probe at the shape of ``model``'s heaviest Conv2D or Conv2DTranspose (most multiply-adds per
        image): its smaller spatial size, its larger channel count, its kernel; ``options`` set the other
        fields (``steps``, ``repeats``, ``norm``). Raises ``ValueError`` for a model without convolutions."""
        import keras
        convs = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)
        best, best_cost = None, 0
        for layer in model.layers:
            inner = getattr(layer, "layer", layer)   # a wrapper (spectral normalisation) holds the conv
            if not isinstance(inner, convs):
                continue
            _, hi, wi, ci = layer.input.shape
            _, ho, wo, co = layer.output.shape
            kh, kw = inner.kernel_size
            cost = min(hi * wi, ho * wo) * kh * kw * ci * co
            if cost > best_cost:
                best, best_cost = (min(hi, ho), max(ci, co), max(kh, kw)), cost
        if best is None:
            raise ValueError(f"model {model.name!r} has no Conv2D or Conv2DTranspose layer to probe")
        size, channels, kernel = best
        return cls(batch=batch, size=int(size), channels=int(max(2, channels)), kernel=int(kernel),
                   **options)


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """Seconds per forward + backward pass of the probe, median over its repeats: ``float32`` and
    ``bfloat16`` (mixed: float32 weights) in CPU time of this process (all its threads), the currency of
    the book's equal-CPU-time comparisons, which other processes on a shared machine do not inflate;
    ``float32_wall`` and ``bfloat16_wall`` in wall-clock time. ``seconds``: wall-clock time the whole
    probe took (building, tracing and timing); ``probe``: the ``Probe`` that was run."""

    float32: float
    bfloat16: float
    float32_wall: float
    bfloat16_wall: float
    seconds: float
    probe: Probe

    @property
    def speedup(self):
        """float32 CPU time / bfloat16 CPU time: above 1 when bfloat16 is faster."""
        return self.float32 / self.bfloat16

    @property
    def wall_speedup(self):
        """float32 wall time / bfloat16 wall time."""
        return self.float32_wall / self.bfloat16_wall


_PROBE_CACHE: dict = {}


def _probe_step(spec, policy, index):
    """A traced ``tf.function`` running one forward + backward pass of ``spec``'s block in ``policy``,
    and its input. Layers are named (Keras' automatic-name counters stay where they were) and seeded
    (no global random state is drawn)."""
    import keras
    import tensorflow as tf
    L = keras.layers
    tag = f"ganutils_probe_{index}_{policy}"
    init = keras.initializers.RandomNormal(stddev=0.02, seed=index)
    layers = [L.Conv2DTranspose(spec.channels // 2, spec.kernel, strides=2, padding="same",
                                kernel_initializer=init, dtype=policy, name=f"{tag}_up")]
    if spec.norm:
        layers.append(L.BatchNormalization(dtype=policy, name=f"{tag}_bn1"))
    layers.append(L.LeakyReLU(0.2, dtype=policy, name=f"{tag}_act1"))
    layers.append(L.Conv2D(spec.channels, spec.kernel, strides=2, padding="same",
                           kernel_initializer=init, dtype=policy, name=f"{tag}_down"))
    if spec.norm:
        layers.append(L.BatchNormalization(dtype=policy, name=f"{tag}_bn2"))
    layers.append(L.LeakyReLU(0.2, dtype=policy, name=f"{tag}_act2"))
    x = tf.random.stateless_normal([spec.batch, spec.size, spec.size, spec.channels], seed=[index, 7])
    h = x
    for layer in layers:   # build every layer on its input shape
        h = layer(h, training=True)
    weights = [w for layer in layers for w in layer.trainable_variables]

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            h = x
            for layer in layers:
                h = layer(h, training=True)
            loss = tf.reduce_mean(tf.square(tf.cast(h, tf.float32)))   # depends on h: nothing pruned
        grads = tape.gradient(loss, [x] + weights)
        return tf.add_n([tf.reduce_sum(tf.cast(g, tf.float32)) for g in grads])

    return step, x


def run_probe(spec=None, *, cache=True):
    """Time ``spec`` (a ``Probe``; ``None``: the default ``Probe()``) in float32 and in mixed bfloat16 on
    this machine and return a ``ProbeResult`` (CPU and wall seconds per forward + backward pass, medians).
    Each precision is traced and run once before timing; then ``spec.repeats`` timings of ``spec.steps``
    passes alternate between the two, so that a change in the machine's load hits both. With ``cache``
    the result is kept for the rest of the process, per ``spec``. Takes a few seconds with the default
    probe. Raises ``ValueError`` for a bad ``spec``."""
    spec = Probe() if spec is None else spec
    if not isinstance(spec, Probe):
        raise ValueError(f"spec must be a Probe or None, got {type(spec).__name__}")
    if cache and spec in _PROBE_CACHE:
        return _PROBE_CACHE[spec]
    t_start = time.perf_counter()
    runs = {p: _probe_step(spec, p, i) for i, p in enumerate(("float32", "mixed_bfloat16"))}
    for step, x in runs.values():
        float(step(x))   # trace, create oneDNN primitives
    cpu, wall = {p: [] for p in runs}, {p: [] for p in runs}
    for r in range(spec.repeats):
        for p in (runs if r % 2 == 0 else reversed(list(runs))):
            step, x = runs[p]
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(spec.steps):
                out = step(x)
            float(out)   # wait for the result
            cpu[p].append((time.process_time() - c0) / spec.steps)
            wall[p].append((time.perf_counter() - t0) / spec.steps)
    med = statistics.median
    result = ProbeResult(float32=med(cpu["float32"]), bfloat16=med(cpu["mixed_bfloat16"]),
                         float32_wall=med(wall["float32"]), bfloat16_wall=med(wall["mixed_bfloat16"]),
                         seconds=time.perf_counter() - t_start, probe=spec)
    if cache:
        _PROBE_CACHE[spec] = result
    return result


# --------------------------------------------------------------------------------------------- the choice

@dataclasses.dataclass(frozen=True)
class Choice:
    """A precision and why. ``dtype``: what the layers compute in, ``"float32"``, ``"bfloat16"`` or
    ``"float16"``; ``policy``: the Keras dtype policy (``"float32"``, ``"mixed_bfloat16"``,
    ``"mixed_float16"``); ``reason``: one line; ``mode``: what was asked; ``probe``: the ``ProbeResult``
    when a probe decided. ``str(choice)`` is ``"<dtype>: <reason>"``; ``bool(choice)`` is ``choice.mixed``."""

    dtype: str
    reason: str
    mode: object = "auto"
    probe: ProbeResult | None = None

    @property
    def policy(self):
        """The Keras dtype policy name: ``"float32"``, ``"mixed_bfloat16"`` or ``"mixed_float16"``."""
        return _POLICIES[self.dtype]

    @property
    def mixed(self):
        """True when the layers compute in a 16-bit type (weights stay float32)."""
        return self.dtype != "float32"

    def __bool__(self):   # a Choice stands where a mixed_precision flag stood: true when it is mixed
        return self.mixed

    def __str__(self):
        return f"{self.dtype}: {self.reason}"


_PRINTED: set = set()


def _auto(spec, min_speedup):
    if gpu_present():
        return "float16", "a GPU is visible (float16 compute, float32 weights)", None
    info = cpu_info()
    if info.flags is None:
        return "float32", "cannot tell whether this CPU has bfloat16 units (no /proc/cpuinfo)", None
    units = info.bf16_flags
    if not units:
        return "float32", f"CPU has no bfloat16 units ({' or '.join(BF16_FLAGS)})", None
    has = f"CPU has {'+'.join(units)}"
    on, how = onednn_enabled()
    if not on:
        return "float32", f"{has} but oneDNN is off ({how}), and bfloat16 is slow without it", None
    result = run_probe(spec)
    measured = f"probe ran {result.speedup:.2f}x as fast as in float32"
    if result.speedup >= min_speedup:
        return "bfloat16", f"{has}, oneDNN on, {measured}", result
    return "float32", f"{has}, oneDNN on, but the {measured} (needs {min_speedup:g}x)", result


def choose(mode="auto", *, probe=None, min_speedup=MIN_SPEEDUP, verbose=True):
    """Choose the precision to train in; returns a ``Choice``.

    ``mode``: ``"auto"`` decides as the module says (GPU, CPU bfloat16 units, oneDNN, a probe of
    ``probe``, a ``Probe``, ``None`` for the default; bfloat16 only when it runs at least ``min_speedup``
    times faster); ``True`` or ``"mixed"``: mixed precision as before (float16 on a GPU, bfloat16 on a
    CPU), whatever the CPU; ``False`` or ``"float32"``: float32; ``"bfloat16"`` or ``"float16"``: mixed
    precision in that type. A ``Choice`` passes through unchanged. With ``verbose`` an automatic choice
    prints its one line (``precision bfloat16: CPU has ...``, wrapped at 80 columns), once per process: a
    second choice with the same outcome prints nothing; where TensorFlow left oneDNN off by default it also
    says, once, how to turn it on and what that bought (``onednn_hint``). The first automatic choice on a CPU with bfloat16 units runs the probe (a
    few seconds); later ones reuse its result. Raises ``ValueError`` for any other mode.
    """
    if isinstance(mode, Choice):
        return mode
    if isinstance(mode, bool):
        key = mode
    elif isinstance(mode, str) and mode in MODES:
        key = mode
    else:
        raise ValueError(f"mixed precision mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    if not (isinstance(min_speedup, (int, float)) and not isinstance(min_speedup, bool) and min_speedup > 0):
        raise ValueError(f"min_speedup must be a positive number, got {min_speedup!r}")
    if key in (False, "float32"):
        return Choice("float32", f"asked for (mode={mode!r})", mode)
    if key in ("bfloat16", "float16"):
        return Choice(key, f"asked for (mode={mode!r})", mode)
    if key in (True, "mixed"):
        dtype = "float16" if gpu_present() else "bfloat16"
        return Choice(dtype, f"asked for (mode={mode!r}) on a {'GPU' if dtype == 'float16' else 'CPU'}", mode)
    dtype, reason, result = _auto(probe, min_speedup)
    choice = Choice(dtype, reason, mode, result)
    line = f"precision {choice}"
    if verbose and line not in _PRINTED:
        _PRINTED.add(line)
        hint = onednn_hint()
        print(textwrap.fill(line, 80, subsequent_indent="  "), flush=True)
        if hint and hint not in _PRINTED:
            _PRINTED.add(hint)
            print(textwrap.fill(hint, 80, subsequent_indent="  "), flush=True)
    return choice


@contextlib.contextmanager
def dtype_policy(choice, *, verbose=True):
    """Within the block, Keras layers built without a ``dtype`` use ``choice``'s policy (a ``Choice`` or
    anything ``choose`` takes; ``"auto"`` decides first, saying why with ``verbose``); afterwards the
    previous global policy is back, also on an error. Yields the ``Choice``. Only models built inside the
    block are affected. Raises ``ValueError`` for a mode ``choose`` refuses."""
    import keras
    choice = choose(choice, verbose=verbose)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(choice.policy)
    try:
        yield choice
    finally:
        keras.config.set_dtype_policy(previous)
