"""The registry of embedded kinds: each kind's module calls ``register`` once, at import.

A kind is its factors (what ``synthetic`` returns beside the images), its default size, its random stream
(an int that keys the factor draws: it must be unique and never change, or the kind's images change) and two
functions: ``params(rng, m) -> (factors, params)`` draws ``m`` images' factors (dict name -> array [m],
int category codes or floats in [0, 1]) and the extra rendering parameters (dict name -> array [m, ...]),
and ``render(P, B, R) -> canvas`` draws ``B`` images at ``R`` x ``R`` px from those arrays into a float32
canvas [3, B, R, R] in [0, 1] (planar; see ``_draw``).
"""

import numbers
from typing import Callable, NamedTuple

_MIN_SIZE, _MAX_SIZE = 8, 512


class Kind(NamedTuple):
    name: str
    factors: dict
    default_size: int
    stream: int
    params: Callable
    render: Callable


_KINDS = {}  # name -> Kind
FACTORS = {}  # name -> {factor: categories or None}
DEFAULT_SIZE = {}  # name -> px


def register(name, *, factors, default_size, stream, params, render):
    """Add an embedded kind (see the module docstring); ``ValueError`` for a taken name or stream or a
    malformed factor table."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"kind name must be an identifier, got {name!r}")
    if name in _KINDS:
        raise ValueError(f"kind {name!r} is already registered")
    if isinstance(stream, bool) or not isinstance(stream, numbers.Integral) or \
            any(k.stream == stream for k in _KINDS.values()):
        raise ValueError(f"kind {name!r}: stream must be an int no other kind uses, got {stream!r}")
    if not isinstance(default_size, numbers.Integral) or not _MIN_SIZE <= default_size <= _MAX_SIZE:
        raise ValueError(f"kind {name!r}: default_size must be an int in [{_MIN_SIZE}, {_MAX_SIZE}]")
    for factor, cats in factors.items():
        if cats is not None and not (isinstance(cats, list) and cats
                                     and all(isinstance(c, str) for c in cats)):
            raise ValueError(f"kind {name!r}: factor {factor!r} must map to a list of category names or None")
    if not (callable(params) and callable(render)):
        raise ValueError(f"kind {name!r}: params and render must be functions")
    _KINDS[name] = Kind(name, factors, int(default_size), int(stream), params, render)
    FACTORS[name] = factors
    DEFAULT_SIZE[name] = int(default_size)
