"""The popup's byte budgets: the inline loader and the bundle fetched on trigger."""

import gzip
import re
from pathlib import Path

from omnichannel.popups.loader import loader_script

STATIC = Path(__file__).resolve().parents[2] / "omnichannel" / "static" / "omnichannel"


def gzipped(data):
    return len(gzip.compress(data.encode() if isinstance(data, str) else data, compresslevel=9))


def test_inline_loader_is_at_most_2_kb_gzipped():
    assert gzipped(loader_script()) <= 2048


def test_popup_bundle_is_at_most_10_kb_gzipped():
    bundle = (STATIC / "popup.js").read_bytes() + (STATIC / "popup.css").read_bytes()
    assert gzipped(bundle) <= 10 * 1024


def test_no_framework_and_no_third_party_requests():
    for name in ("loader.js", "popup.js", "popup.css"):
        source = (STATIC / name).read_text()
        assert not re.search(r"https?://", source), f"{name} names an outside URL"
        assert "import " not in source and "require(" not in source


def test_the_inlined_loader_keeps_the_code_and_drops_whole_line_comments():
    source = (STATIC / "loader.js").read_text()
    inlined = loader_script()
    assert "// " not in inlined.replace("://", "")
    code_lines = [
        line.strip()
        for line in source.splitlines()
        if line.strip() and not line.strip().startswith("//")
    ]
    assert inlined.splitlines() == code_lines
