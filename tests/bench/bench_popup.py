"""What the popup costs a page: render time, queries, and the bytes a visitor downloads.

    .venv/bin/python tests/bench/bench_popup.py [--requests 300]

Renders a sample_shop page with {% omnichannel_popup %} and the same page with the tag
switched off, interleaved in one run (so both see the same machine), on a warm cache;
counts the queries of each; and measures the inline loader and the popup bundle gzipped.
Not part of the test suite.
"""

import argparse
import gzip
import os
import statistics
import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402

STATIC = ROOT / "omnichannel" / "static" / "omnichannel"
TAG_RENDER = "omnichannel.templatetags.omnichannel.render_popups"


def gz(data):
    return len(gzip.compress(data if isinstance(data, bytes) else data.encode(), 9))


def timed_get(client, url):
    started = time.perf_counter()
    response = client.get(url)
    return time.perf_counter() - started, response


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per variant")
    args = parser.parse_args()

    setup_test_environment()
    call_command("migrate", verbosity=0, run_syncdb=True)
    call_command("load_demo_data", stdout=open(os.devnull, "w"))  # noqa: SIM115
    from omnichannel.popups.loader import loader_script

    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/140")
    url = reverse("shop:product_list")
    page_with_tag = client.get(url).content.decode()  # warms the popup cache
    assert "omnichannel-popups" in page_with_tag, "the demo popup did not render"
    with_tag, without_tag = [], []
    for _ in range(args.requests):
        with_tag.append(timed_get(client, url)[0])
        with mock.patch(TAG_RENDER, return_value=""):
            without_tag.append(timed_get(client, url)[0])

    with CaptureQueriesContext(connection) as queries_with:
        client.get(url)
    with mock.patch(TAG_RENDER, return_value=""), CaptureQueriesContext(connection) as without:
        client.get(url)
    start = page_with_tag.index('<script id="omnichannel-popups"')
    tag_output = page_with_tag[
        start : page_with_tag.index("</script>", page_with_tag.index("<script>", start)) + 9
    ]

    median_with, median_without = statistics.median(with_tag), statistics.median(without_tag)
    script, styles = (STATIC / "popup.js").read_bytes(), (STATIC / "popup.css").read_bytes()
    rows = [
        ("requests per variant", f"{args.requests}"),
        ("page render, with tag (median)", f"{median_with * 1000:.2f} ms"),
        ("page render, without tag (median)", f"{median_without * 1000:.2f} ms"),
        ("render time ratio (with / without)", f"{median_with / median_without:.3f}"),
        ("queries per page, with tag", f"{len(queries_with)}"),
        ("queries per page, without tag", f"{len(without)}"),
        ("queries added by the tag (warm cache)", f"{len(queries_with) - len(without)}"),
        ("inline loader, gzipped", f"{gz(loader_script())} B (budget 2048 B)"),
        ("tag output for the demo popup, gzipped", f"{gz(tag_output)} B"),
        ("popup.js + popup.css, gzipped", f"{gz(script + styles)} B (budget 10240 B)"),
        ("popup.js / popup.css, gzipped", f"{gz(script)} B / {gz(styles)} B"),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
