"""What checking a message's variables costs at send time, without a database.

    .venv/bin/python tests/bench/bench_rendering.py

Renders the same email (subject, text, HTML, with a cart loop, an ``{% if discount %}``
guard and filters) N times through ``render_content``, which checks that every variable
the content requires is in the context before rendering it, against a baseline in the
same run: the same parts rendered by the same compiled templates with no check (what
``render_content`` did before the check). Prints min / median of 5 runs and the ratio.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from django.template import Context  # noqa: E402

from omnichannel.outbox.rendering import HTML_PARTS, _compile, render_content  # noqa: E402

N = 5000
RUNS = 5
CONTENT = {
    "subject": "Your cart, {{ contact.first_name|default:'friend' }}",
    "text": "Hello {{ contact.first_name }}, {{ cart.item_count }} items wait: "
    "{% for line in cart.lines %}{{ line.name }} x{{ line.quantity }}, {% endfor %}"
    "{% if discount %}code {{ discount.code }}{% endif %} {{ cart.restore_url }}",
    "html": "<p>Hello {{ contact.first_name }}</p>{% for line in cart.lines %}"
    "<li>{{ line.name }}</li>{% endfor %}<p>{{ cart.value|money:cart.currency }}</p>"
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a>',
}
CONTEXT = {
    "contact": {"first_name": "Ann", "attributes": {}},
    "shop": {"name": "Shop"},
    "unsubscribe_url": "https://shop.example.com/u/abc",
    "cart": {
        "lines": [{"name": "Mug", "quantity": 1}, {"name": "Tote", "quantity": 2}],
        "item_count": 3,
        "value": "45.00",
        "currency": "EUR",
        "restore_url": "https://shop.example.com/r/abc",
    },
}


def unchecked(content, context):
    return {
        key: _compile(value, key in HTML_PARTS).render(
            Context(context, autoescape=key in HTML_PARTS)
        )
        for key, value in content.items()
    }


def timed(render):
    start = time.perf_counter()
    for _ in range(N):
        render(CONTENT, CONTEXT)
    return (time.perf_counter() - start) / N * 1e6  # µs a message


def main():
    assert render_content(CONTENT, CONTEXT) == unchecked(CONTENT, CONTEXT)
    checked, baseline = [], []
    for _ in range(RUNS):
        baseline.append(timed(unchecked))
        checked.append(timed(render_content))
    print(f"{N} messages x {RUNS} runs, µs per message (min / median):")
    print(f"  baseline, no check: {min(baseline):7.1f} / {statistics.median(baseline):7.1f}")
    print(f"  with the check:     {min(checked):7.1f} / {statistics.median(checked):7.1f}")
    print(f"  ratio (median):     {statistics.median(checked) / statistics.median(baseline):.3f}")


if __name__ == "__main__":
    main()
