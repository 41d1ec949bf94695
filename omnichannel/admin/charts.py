"""Charts drawn on the server as inline SVG, for the dashboards.

No script and no external asset: the page is readable on a phone (the SVG has a
``viewBox`` and takes the width it is given, ``.oc-chart`` in the admin CSS) and by a
screen reader (every chart has a title, a description, and its figures in a table beside
it). These functions only say where things go, in SVG user units; the templates draw them.
"""

WIDTH, HEIGHT = 720, 160


def _scale(values):
    peak = max(values, default=0) or 1
    return peak, lambda value: round(HEIGHT * float(value) / float(peak), 2)


def bar_chart(items, value, inner=None):
    """A bar for each of ``items``, ``value(item)`` high and, when ``inner`` is given, a
    narrower bar inside it ``inner(item)`` high (a part of it), both on the same scale.

    Each bar is ``{"item", "value", "inner_value", "x", "width", "y", "height", "inner_x",
    "inner_width", "inner_y", "inner_height"}``; the chart is ``{"width", "height", "peak",
    "bars"}``.
    """
    peak, height = _scale([value(item) for item in items])
    slot = WIDTH / max(len(items), 1)
    bars = []
    for index, item in enumerate(items):
        inner_value = inner(item) if inner else 0
        outer_height, inner_height = height(value(item)), height(inner_value)
        bars.append(
            {
                "item": item,
                "value": value(item),
                "inner_value": inner_value,
                "x": round(index * slot + slot * 0.1, 2),
                "width": round(slot * 0.8, 2),
                "y": round(HEIGHT - outer_height, 2),
                "height": outer_height,
                "inner_x": round(index * slot + slot * 0.3, 2),
                "inner_width": round(slot * 0.4, 2),
                "inner_y": round(HEIGHT - inner_height, 2),
                "inner_height": inner_height,
            }
        )
    return {"width": WIDTH, "height": HEIGHT, "peak": peak, "bars": bars}


def line_chart(items, value):
    """A line through ``value(item)`` of each of ``items``, left to right.

    The chart is ``{"width", "height", "peak", "points", "line"}``: ``points`` are
    ``{"item", "value", "x", "y"}`` (a dot with its own title each), ``line`` the ``points``
    attribute of the ``<polyline>``.
    """
    peak, height = _scale([value(item) for item in items])
    step = WIDTH / max(len(items) - 1, 1)
    points = [
        {
            "item": item,
            "value": value(item),
            "x": round(index * step, 2),
            "y": round(HEIGHT - height(value(item)), 2),
        }
        for index, item in enumerate(items)
    ]
    line = " ".join(f"{point['x']},{point['y']}" for point in points)
    return {"width": WIDTH, "height": HEIGHT, "peak": peak, "points": points, "line": line}
