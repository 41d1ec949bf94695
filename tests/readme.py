"""The README's code blocks, as the tests that run them read them.

An integrator copies the blocks whose first line names a file (``# settings.py``,
``# myshop/celery.py``, ...): those are the ones the suite executes.
"""

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@dataclass(frozen=True)
class Block:
    section: str  # the heading above the block
    path: str  # the file its first line names, or ''
    code: str


def blocks():
    text = README.read_text()
    found = []
    for match in FENCE.finditer(text):
        headings = re.findall(r"^#+ (.+)$", text[: match.start()], re.M)
        code = match.group(1)
        first = code.splitlines()[0]
        path = first[2:].strip() if first.startswith("# ") and first.endswith(".py") else ""
        found.append(Block(section=headings[-1] if headings else "", path=path, code=code))
    return found


def copied(section=None):
    """The blocks an integrator copies into a file, optionally of one section only."""
    return [b for b in blocks() if b.path and (section is None or b.section == section)]
