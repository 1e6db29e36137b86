#!/usr/bin/env bash
# The main job: set up .venv and build the book (HTML in _build/html) from the committed
# notebooks, offline. Rerunning the chapters themselves is `python -m ganutils.run all --book`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
rm -rf _build/html
jupyter-book build . -W -n --keep-going
python scripts/check_book.py   # every chapter page: outputs shown, Colab link right
echo "The book: $(pwd)/_build/html/index.html"
