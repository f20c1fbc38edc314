"""MkDocs hooks of the project site (mkdocs.yml ``hooks:``); ``bash scripts/docs.sh`` builds it.

- The home page is the README, generated at build time (one source, so it cannot drift): links
  into ``docs/`` are made relative to the site, and links to repository files outside ``docs/``
  become their path in code (the site does not hold them).
- The docstrings use Sphinx roles (``:class:`~neuromorph.sim.Network```), which Markdown renders
  as the literal role before the code. Each role becomes a cross-reference that mkdocs-autorefs
  resolves to the symbol's API entry (``~`` shows the last name only); a symbol the site does
  not document stays plain code.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parents[1]
_LINK = re.compile(r"\[([^\]]*)\]\((?!https?://|#|mailto:)([^)\s]+)\)")
_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):<code>(~?)([\w.\s]+)</code>")


def _site_link(match: re.Match[str]) -> str:
    """A README link as the home page needs it (see the module docstring)."""
    text, target = match.groups()
    if target.startswith("docs/"):
        return f"[{text}]({target.removeprefix('docs/')})"
    return text if text.strip("`") == target else f"{text} (`{target}`)"


def readme_as_home(text: str) -> str:
    """The README's Markdown with its relative links rewritten for the site's home page."""
    return _LINK.sub(_site_link, text)


def _autoref(match: re.Match[str]) -> str:
    short, name = match.group(1), "".join(match.group(2).split())  # a docstring may wrap it
    title = name.rsplit(".", 1)[-1] if short else name
    return f'<autoref identifier="{name}" optional><code>{title}</code></autoref>'


def roles_to_autorefs(html: str) -> str:
    """Replace rendered Sphinx roles by optional autorefs cross-references."""
    return _ROLE.sub(_autoref, html)


def on_files(files: Files, config: MkDocsConfig, **_: Any) -> Files:
    if files.get_file_from_path("index.md") is None:
        home = readme_as_home((ROOT / "README.md").read_text())
        files.append(File.generated(config, "index.md", content=home))
    return files


def on_page_content(html: str, page: Page, **_: Any) -> str:
    return roles_to_autorefs(html)
