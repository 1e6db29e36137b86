"""Unit tests run as a reader's normal session would: without the smoke switch.

``notebooks/conftest.py`` sets ``GANBOOK_SMOKE=1`` for the kernels nbval starts, at import. When one pytest
session collects both folders (``pytest tests notebooks --nbval-lax``), that switch would leak into these
tests and turn their full-size settings into smoke ones (a run folder under ``runs/smoke``): each test here
starts without it, and a test that wants it sets it with ``monkeypatch``.
"""

import pytest

import ganutils


@pytest.fixture(autouse=True)
def _no_smoke_switch(monkeypatch):
    monkeypatch.delenv(ganutils.SMOKE_ENV, raising=False)
