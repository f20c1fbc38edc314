"""The API reference builds with ``mkdocs build --strict`` (what ``bash scripts/docs.sh`` runs)
and shows the docstrings of the code: each symbol below appears on its package's page, under its
own anchor, with the first paragraph of its docstring as read from the imported object.
"""

from __future__ import annotations

import html
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["networks", "sim", "nir", "learning_rules", "hardware_models", "substrates", "data",
            "plot", "errors", "primitives", "specs", "models"]
#: (page, dotted path of the documented object, attribute inside the module or "")
SYMBOLS = [
    ("errors", "neuromorph.errors", "NeuromorphError"),
    ("sim", "neuromorph.sim.network", "Network"),
    ("sim", "neuromorph.sim.groups", "LIFGroup"),
    ("hardware_models", "neuromorph.hardware_models", "make_system"),
    ("learning_rules", "neuromorph.learning_rules.phyll", "PhyLL"),
    ("networks", "neuromorph.networks.spiking_layers", "SpikingLinear"),
    ("primitives", "neuromorph.primitives.discretize", ""),
    ("plot", "neuromorph.plot", "save"),
    ("specs", "neuromorph.specs.options", "SpikeOptions"),
    ("models", "neuromorph.models.model_file", "save_model"),
]
_ROLE = re.compile(r":\w+:`(~?)([\w.]+)`")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stderr[-4000:]}"
    return out


def _text(markup: str) -> str:
    """Visible text of an HTML page, whitespace collapsed."""
    no_tags = re.sub(r"<[^>]+>", " ", markup)
    return " ".join(html.unescape(no_tags).split())


def _first_paragraph(doc: str) -> str:
    """A docstring's first paragraph as the site shows it: roles and backticks dropped."""
    para = doc.split("\n\n")[0]
    para = _ROLE.sub(lambda m: m.group(2).rsplit(".", 1)[-1] if m.group(1) else m.group(2), para)
    return " ".join(para.replace("`", "").split())


def test_every_public_package_has_a_page(site: Path) -> None:
    for package in PACKAGES:
        page = (site / "api" / package / "index.html").read_text()
        assert f'id="neuromorph.{package}"' in page, f"api/{package} does not document it"


@pytest.mark.parametrize("page, module, attr", SYMBOLS, ids=[f"{m}.{a}" for _, m, a in SYMBOLS])
def test_docstring_is_on_its_page(site: Path, page: str, module: str, attr: str) -> None:
    obj = importlib.import_module(module)
    if attr:
        obj = getattr(obj, attr)
    anchor = f"{module}.{attr}" if attr else module
    markup = (site / "api" / page / "index.html").read_text()
    assert f'id="{anchor}"' in markup, f"no entry {anchor} on api/{page}"
    expected = _first_paragraph(inspect.getdoc(obj) or "")
    assert expected, f"{anchor} has no docstring"
    assert expected in _text(markup), f"api/{page} lacks the docstring of {anchor}: {expected!r}"


def test_sphinx_roles_become_links(site: Path) -> None:
    """``:class:`~neuromorph.x.Y``` renders as a link to Y's entry, never as the raw role."""
    pages = [(site / "api" / p / "index.html").read_text() for p in PACKAGES]
    assert not any(re.search(r":(class|func|meth|mod|data|attr):<code>", p) for p in pages)
    # substrates' module docstring names :class:`~neuromorph.networks.stack.Transform`
    substrates = (site / "api" / "substrates" / "index.html").read_text()
    assert 'href="../networks/#neuromorph.networks.stack.Transform"' in substrates


def test_home_page_is_the_readme(site: Path) -> None:
    home = _text((site / "index.html").read_text())
    first_line = (ROOT / "README.md").read_text().splitlines()[0].lstrip("# ")
    assert first_line in home and "The two commands" in home
    assert 'href="nir/"' in (site / "index.html").read_text()  # docs/nir.md -> the site's page
