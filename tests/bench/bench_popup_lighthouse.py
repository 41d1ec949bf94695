"""What the popup tag costs a page in the browser: Lighthouse's mobile preset, with / without.

    LIGHTHOUSE=/work/tools/lighthouse/node_modules/.bin/lighthouse \\
        .venv/bin/python tests/bench/bench_popup_lighthouse.py [--runs 5]

Serves the sample shop's product page from this process (demo data, SQLite in a temporary
folder) and runs Lighthouse (mobile preset: 4x CPU slowdown, simulated throttling) against
it alternately with the popup tag and with the tag switched off, so both see the same
machine. Prints the min and median of each figure, the page without the tag as the
baseline, and the ratio. Not part of the test suite.

Script time is Lighthouse's main-thread breakdown of script evaluation plus parse and
compile, over every script: Lighthouse's own "bootup-time" leaves out any URL under 50 ms,
which would hide a script fetched from its own URL. It is printed too, for reference.
Both are wall-clock times: on a shared, loaded machine a 1 ms script can take 5 ms of
wall time while the core runs something else. So the bench also reads Lighthouse's trace
and sums the page's script tasks by the thread's CPU clock (``tdur``), times Lighthouse's
4x slowdown, leaving out Lighthouse's own injected scripts: "script CPU time x4".

Lighthouse comes from the npm registry, outside the repository:
    mkdir -p /work/tools/lighthouse && cd /work/tools/lighthouse && npm install lighthouse@12
It runs against Debian's Chromium (CHROME_PATH, default /usr/bin/chromium).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DATA = Path(tempfile.mkdtemp(prefix="bench-popup-lighthouse-"))
os.environ["DATABASE_URL"] = f"sqlite:///{DATA / 'db.sqlite3'}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.contrib.staticfiles.handlers import StaticFilesHandler  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import reverse  # noqa: E402

TAG_RENDER = "omnichannel.templatetags.omnichannel.render_popups"
DEFAULT_LIGHTHOUSE = Path("/work/tools/lighthouse/node_modules/.bin/lighthouse")
INSTALL_HINT = (
    "Lighthouse not found. Install it outside the repository and point LIGHTHOUSE at it:\n"
    "  mkdir -p /work/tools/lighthouse && cd /work/tools/lighthouse && npm install lighthouse@12\n"
    "  export LIGHTHOUSE=/work/tools/lighthouse/node_modules/.bin/lighthouse"
)


def find_lighthouse():
    candidate = os.environ.get("LIGHTHOUSE") or shutil.which("lighthouse") or DEFAULT_LIGHTHOUSE
    if not Path(candidate).is_file():
        sys.exit(INSTALL_HINT)
    return str(candidate)


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def serve():
    """The shop on a free loopback port, in a thread; returns its base URL."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=False)
    server.set_app(StaticFilesHandler(get_wsgi_application()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


# Trace events that run the page's scripts (nested ones are counted with their parent).
SCRIPT_EVENTS = {
    "EvaluateScript", "v8.compile", "v8.compileModule", "v8.evaluateModule", "FunctionCall",
    "FireIdleCallback", "FireAnimationFrame", "TimerFire", "EventDispatch", "RunMicrotasks",
}  # fmt: skip


def event_url(event):
    data = (event.get("args") or {}).get("data") or {}
    if not isinstance(data, dict):
        return ""
    return data.get("url") or ((data.get("stackTrace") or [{}])[0] or {}).get("url", "")


def lighthouses(event):
    """Lighthouse's own scripts: its functions, and the scripts it evaluates (no URL)."""
    url = event_url(event)
    return "_lighthouse" in url or (not url and event["name"] in ("EvaluateScript", "v8.compile"))


def script_cpu_ms(trace_path, page_url):
    """CPU time (thread clock) of the page's scripts on its renderer's main thread, and of
    the longest task (RunTask) that ran one of them, in ms."""
    trace = json.loads(Path(trace_path).read_text())
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    threads = {
        (e["pid"], e["tid"]) for e in events
        if e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"
    }  # fmt: skip
    page_pids = {
        e["pid"] for e in events if e.get("name") == "ParseHTML"
        and ((e.get("args") or {}).get("beginData") or {}).get("url") == page_url
    }  # fmt: skip
    main = sorted(
        (e for e in events if (e.get("pid"), e.get("tid")) in threads
         and e["pid"] in page_pids and e.get("ph") == "X"),
        key=lambda e: e["ts"],
    )  # fmt: skip
    total, longest, open_until, current, foreign, task = 0.0, 0.0, -1, None, False, None
    for event in main + [None]:
        inside = event is not None and event["ts"] < open_until
        if current is not None and not inside:
            if not foreign:
                total += cpu_ms(current)
                longest = max(longest, cpu_ms(task) if task else 0)
            current = None
        if event is None:
            break
        if inside:
            foreign = foreign or lighthouses(event)
        elif event["name"] in SCRIPT_EVENTS:
            current, open_until = event, event["ts"] + event.get("dur", 0)
            foreign = lighthouses(event)
        elif event["name"] == "RunTask":
            task = event
    return total, longest


def cpu_ms(event):
    return event.get("tdur", event.get("dur", 0)) / 1000


def lighthouse(binary, url, attempts=3):
    """One Lighthouse run (mobile preset, performance only): the figures we report.

    On a loaded machine Lighthouse sometimes loses the trace (NO_NAVSTART, NO_FCP); such a
    run is tried again, up to ``attempts`` times, and says so.
    """
    chromium = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
    assets = DATA / "run"
    for attempt in range(1, attempts + 1):
        out = run_lighthouse(binary, url, chromium, assets)
        if out.returncode == 0 or attempt == attempts:
            break
        print(f"lighthouse: attempt {attempt} failed ({out.stderr.strip()[-120:]}), again")
    if out.returncode:
        sys.exit(f"lighthouse failed ({out.returncode}):\n{out.stderr[-2000:]}")
    result = figures(json.loads(Path(f"{assets}.json").read_text())["audits"])
    script, longest_task = script_cpu_ms(f"{assets}-0.trace.json", url)
    result["script CPU time x4, ms"] = 4 * script
    result["longest task running a script, CPU x4, ms"] = 4 * longest_task
    return result


def run_lighthouse(binary, url, chromium, assets):
    return subprocess.run(
        [
            binary, url, "--quiet", "--output=json", f"--output-path={assets}.json",
            "--save-assets",
            "--only-categories=performance",
            "--chrome-flags=--headless --no-sandbox --disable-gpu --disable-background-networking",
        ],
        env={**os.environ, "CHROME_PATH": chromium},
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def figures(audits):
    groups = {
        item["group"]: item["duration"]
        for item in audits["mainthread-work-breakdown"]["details"]["items"]
    }
    return {
        "script time (eval + compile), ms": groups.get("scriptEvaluation", 0)
        + groups.get("scriptParseCompile", 0),
        "Lighthouse bootup-time, ms": audits["bootup-time"]["numericValue"],
        "main-thread work, ms": audits["mainthread-work-breakdown"]["numericValue"],
        "total blocking time, ms": audits["total-blocking-time"]["numericValue"],
        "long tasks": len((audits.get("long-tasks", {}).get("details") or {}).get("items", [])),
        "cumulative layout shift": audits["cumulative-layout-shift"]["numericValue"],
        "bytes transferred": audits["total-byte-weight"]["numericValue"],
        # With the tag: the page and loader.js, fetched when idle (inside the trace).
        "requests": len(audits["network-requests"]["details"]["items"]),
    }


def summary(values):
    return min(values), statistics.median(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="Lighthouse runs per variant")
    args = parser.parse_args()
    binary = find_lighthouse()

    call_command("migrate", verbosity=0, run_syncdb=True)
    call_command("load_demo_data", stdout=open(os.devnull, "w"))  # noqa: SIM115
    from sample_shop.shop.models import Product

    server, base = serve()
    url = base + reverse("shop:product_detail", args=[Product.objects.order_by("pk")[0].slug])
    runs = {"with tag": [], "without tag": []}
    try:
        for _ in range(args.runs):
            runs["with tag"].append(lighthouse(binary, url))
            with mock.patch(TAG_RENDER, return_value=""):
                runs["without tag"].append(lighthouse(binary, url))
    finally:
        server.shutdown()
        shutil.rmtree(DATA, ignore_errors=True)

    print(f"page: {url} (product page), {args.runs} runs each, interleaved")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(
        f"{'figure':36} {'with tag min/med':>18} {'without min/med':>18} {'ratio':>6} {'added':>7}"
    )
    for name in runs["with tag"][0]:
        with_min, with_med = summary([run[name] for run in runs["with tag"]])
        without_min, without_med = summary([run[name] for run in runs["without tag"]])
        ratio = f"{with_med / without_med:.2f}" if without_med else "-"
        print(
            f"{name:36} {with_min:>8.1f} /{with_med:>8.1f} {without_min:>8.1f} /{without_med:>8.1f}"
            f" {ratio:>6} {with_med - without_med:>+7.1f}"
        )


if __name__ == "__main__":
    main()
