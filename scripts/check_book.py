"""Check the built book (_build/html) the way a reader meets it.

    python scripts/check_book.py [_build/html]

For every chapter in _toc.yml: its page exists, shows figures (the committed outputs
are rendered, not dropped), and its Colab launch button opens this repository's copy of
the notebook (``{colab_url}/github/{owner}/{repo}/blob/{branch}/notebooks/NN_x.ipynb``),
which is the URL pattern Colab serves. A chapter that shows a training GIF must embed
it. Exits non-zero with one line per problem.
"""

import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def chapter_files(toc):
    files = []
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return [f for f in files if f.startswith("notebooks/")]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    html = Path(argv[0]) if argv else ROOT / "_build" / "html"
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    repo = config["repository"]["url"].rstrip("/").removeprefix("https://github.com/")
    branch = config["repository"].get("branch", "main")
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    problems, checked = [], 0
    for stem in chapter_files(toc):
        page = html / f"{stem}.html"
        if not page.exists():
            problems.append(f"{page}: missing")
            continue
        text = page.read_text(encoding="utf-8")
        url = f"{colab}/github/{repo}/blob/{branch}/{stem}.ipynb"
        if url not in text:
            problems.append(f"{page.name}: no Colab launch link {url}")
        images = re.findall(r"<img [^>]*src=\"([^\"]+)\"", text)
        if not images:
            problems.append(f"{page.name}: shows no images (outputs not rendered?)")
        notebook = ROOT / f"{stem}.ipynb"
        if notebook.exists() and "image/gif" in notebook.read_text(encoding="utf-8"):
            gifs = [s for s in images if s.endswith(".gif") or s.startswith("data:image/gif")]
            if not gifs:
                problems.append(f"{page.name}: the notebook has a GIF output but the page shows none")
        checked += 1
    for p in problems:
        print(p)
    print(f"checked {checked} chapter pages in {html}: {len(problems)} problem(s)")
    return 1 if problems or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
