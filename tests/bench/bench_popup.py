"""What the popup costs a page: render time, queries, and the bytes a visitor downloads.

    .venv/bin/python tests/bench/bench_popup.py [--requests 300] [--rounds 5]

Renders the sample shop's product page with {% omnichannel_popup %} and the same page with
the tag switched off, interleaved in one run (so both see the same machine), on a warm
cache, in rounds (min and median of the rounds' medians); counts the queries of each; and
measures what the tag writes into the page, the loader fetched when idle and the popup
bundle fetched on the trigger. Not part of the test suite. Its browser-side counterpart is
bench_popup_lighthouse.py.
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
    parser.add_argument("--requests", type=int, default=300, help="requests per variant per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (min / median reported)")
    args = parser.parse_args()

    setup_test_environment()
    call_command("migrate", verbosity=0, run_syncdb=True)
    call_command("load_demo_data", stdout=open(os.devnull, "w"))  # noqa: SIM115
    from sample_shop.shop.models import Product

    client = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) Chrome/140")
    url = reverse("shop:product_detail", args=[Product.objects.order_by("pk")[0].slug])
    page_with_tag = client.get(url).content.decode()  # warms the popup cache
    assert "omnichannel-popups" in page_with_tag, "the demo popup did not render"
    medians_with, medians_without, ratios = [], [], []
    for _ in range(args.rounds):
        with_tag, without_tag = [], []
        for _ in range(args.requests):
            with_tag.append(timed_get(client, url)[0])
            with mock.patch(TAG_RENDER, return_value=""):
                without_tag.append(timed_get(client, url)[0])
        medians_with.append(statistics.median(with_tag))
        medians_without.append(statistics.median(without_tag))
        ratios.append(medians_with[-1] / medians_without[-1])

    with CaptureQueriesContext(connection) as queries_with:
        client.get(url)
    with mock.patch(TAG_RENDER, return_value=""), CaptureQueriesContext(connection) as without:
        client.get(url)
    start = page_with_tag.index('<script id="omnichannel-popups"')
    tag_output = page_with_tag[
        start : page_with_tag.index("</script>", page_with_tag.index("<script>", start)) + 9
    ]

    def ms(values):
        return f"{min(values) * 1000:.3f} / {statistics.median(values) * 1000:.3f} ms"

    loader = (STATIC / "loader.js").read_bytes()
    script, styles = (STATIC / "popup.js").read_bytes(), (STATIC / "popup.css").read_bytes()
    load = " ".join(f"{figure:.2f}" for figure in os.getloadavg())
    rows = [
        ("page", f"{url} (product page)"),
        ("rounds x requests per variant", f"{args.rounds} x {args.requests}, interleaved"),
        ("load average (1, 5, 15 min)", load),
        ("page render, with tag (min / median)", ms(medians_with)),
        ("page render, without tag (min / median)", ms(medians_without)),
        ("render ratio, with / without (min / median)", f"{min(ratios):.3f} / "
         f"{statistics.median(ratios):.3f} (goal <= 1.05)"),
        ("queries per page, with / without tag", f"{len(queries_with)} / {len(without)}"),
        ("tag output for the demo popup", f"{len(tag_output.encode())} B (budget 2048 B), "
         f"{gz(tag_output)} B gzipped"),
        ("loader.js (fetched when idle), gzipped", f"{gz(loader)} B (budget 3072 B)"),
        ("popup.js + popup.css (on the trigger), gzipped", f"{gz(script + styles)} B "
         f"({gz(script)} + {gz(styles)}; budget 10240 B)"),
    ]  # fmt: skip
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
