"""Every ```python block of the README and docs/*.md runs as written (so the docs cannot drift).

Blocks of one file run in order in one namespace, as a reader would paste them. A block that
starts with ``# not run`` is skipped (say why in the block).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _blocks(path: Path) -> list[str]:
    return [b for b in BLOCK.findall(path.read_text()) if not b.startswith("# not run")]


@pytest.mark.parametrize("path", [p for p in DOCS if _blocks(p)], ids=lambda p: p.name)
def test_python_snippets_run(path: Path, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # snippets that write files write here
    namespace: dict = {"__name__": "__snippet__"}
    for i, block in enumerate(_blocks(path)):
        try:
            exec(compile(block, f"{path.name}[block {i}]", "exec"), namespace)
        except Exception as exc:  # the failing block and its first line, then the error
            first = block.strip().splitlines()[0]
            raise AssertionError(f"{path.name} block {i} ({first!r}) failed: {exc!r}") from exc
