"""Re-shoot ``docs/explorer.png``: the Jupyter explorer, executed and rendered in headless Chromium.

The widgets are drawn by the ``@jupyter-widgets/html-manager`` JavaScript from the widget
state that the executed notebook stores, so the picture is what a person sees in a notebook.
Nothing is fetched from the internet: give a directory holding ``require.js`` and the
html-manager's ``dist/`` files (``embed-amd.js`` and the fonts beside it), e.g. unpacked
from ``npm pack @jupyter-widgets/html-manager@1`` and ``npm pack requirejs`` (the
screenshot in docs/ used html-manager 1.0.15 and requirejs 2.3.8 with ipywidgets 8.1)::

    export PYTHONPATH=$PWD/src
    python docs/shoot_explorer.py --assets /tmp/widget-assets --out docs/explorer.png

Needs ``nbformat``, ``nbclient``, ``nbconvert``, ``ipykernel`` and ``ipywidgets`` (the
``notebooks`` extra) and a Chromium (``--chromium``, default ``/usr/bin/chromium``).
The notebook runs in a kernel started with this interpreter and this environment, so
``PYTHONPATH`` decides which kneebayes is shown.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

#: What the screenshot shows: a DVT presentation with the age and the sex given.
CODE = """\
import kneebayes
explorer = kneebayes.explorer()
explorer.set(present=['calf_swelling', 'recent_immobility'], absent=['fever', 'difficulty_breathing'],
             age=64, sex='female')
explorer"""
TITLE = ("# kneebayes explorer\n"
         "*kneebayes is a research tool, not medical advice: if you are worried, see a doctor.*")


def notebook() -> nbformat.NotebookNode:
    """Return the two-cell notebook that is executed and shot."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(TITLE), nbformat.v4.new_code_cell(CODE)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def render(assets: Path, folder: Path) -> Path:
    """Execute the notebook, keep its widget state, and write it as HTML with local scripts into ``folder``."""
    for name in ("require.js", "embed-amd.js"):
        if not (assets / name).is_file():
            sys.exit(f"shoot_explorer: {assets} has no {name} (see this script's docstring)")
    for item in assets.iterdir():
        if item.is_file():
            shutil.copy(item, folder / item.name)
    nb = notebook()
    NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=True).execute()
    exporter = HTMLExporter(require_js_url="require.js", widget_renderer_url="embed-amd.js",
                            mathjax_url="", exclude_input_prompt=False)
    body, _ = exporter.from_notebook_node(nb)
    page = folder / "explorer.html"
    page.write_text(body, encoding="utf-8")
    return page


def shoot(page: Path, out: Path, chromium: str, width: int, height: int) -> None:
    """Screenshot ``page`` in headless Chromium at ``width`` x ``height`` into ``out``."""
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    f"--window-size={width},{height}", "--virtual-time-budget=20000",
                    f"--screenshot={out.resolve()}", page.resolve().as_uri()],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, render and shoot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=Path, required=True, help="folder with require.js and embed-amd.js")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("explorer.png"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1860)
    parser.add_argument("--keep", type=Path, help="also copy the rendered HTML folder here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        page = render(args.assets, Path(tmp))
        shoot(page, args.out, args.chromium, args.width, args.height)
        if args.keep:
            shutil.copytree(tmp, args.keep, dirs_exist_ok=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
