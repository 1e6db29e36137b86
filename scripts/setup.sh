#!/usr/bin/env bash
# Create .venv (if missing) and install the course's stack into it. Sourced by
# scripts/book.sh and .ci/run, so both start from the same environment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -d .venv ] || python3 -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -r requirements.txt
# setuptools' "Editable installation ... be careful with folders named like your package" box is
# information only (the repository's ganutils/ IS the package here): filter that one message.
PYTHONWARNINGS="ignore:Editable installation" python -m pip install --quiet --no-deps -e .
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1
