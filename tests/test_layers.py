"""The package's import graph: layers that point one way, and no cycles.

Read with ``ast`` from the source, so nothing is imported. A module may import its own
layer and the layers below it, never one above; a module-level import counts, and so does
one inside a function (a lazy import), which is only allowed where it is listed below
with its reason. Importing ``a.b.c`` also runs the packages ``a`` and ``a.b``, so those
count as imported too when looking for cycles.
"""

import ast
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "omnichannel"

#: Lowest first. A module belongs to the layer of its longest matching prefix.
#:
#: The flow engine queues messages into the outbox and cancels them there, while the
#: dispatcher never calls the engine: the outbox sits below the flows. The dispatcher calls
#: the channel backends, which need nothing from the outbox: the channels sit below it.
#: Segments, cart recovery, win-back and erasure drive flows, so they sit above them.
LAYERS = [
    ("settings", ["omnichannel.conf", "omnichannel.setting_types", "omnichannel.exceptions",
                  "omnichannel.signals", "omnichannel.presets"]),
    ("core", ["omnichannel.core", "omnichannel.integrations.adapter",
              "omnichannel.integrations.session", "omnichannel.integrations.safety"]),
    ("models", ["omnichannel.models"]),
    ("records", ["omnichannel.contacts", "omnichannel.carts", "omnichannel.push",
                 "omnichannel.integrations", "omnichannel.browsing"]),
    ("channels", ["omnichannel.channels"]),
    ("outbox", ["omnichannel.outbox"]),
    ("flows", ["omnichannel.flows"]),
    ("services", ["omnichannel.contacts.segments", "omnichannel.contacts.privacy.erasure",
                  "omnichannel.carts.recovery", "omnichannel.carts.winback", "omnichannel.popups",
                  "omnichannel.outgoing", "omnichannel.browsing.abandonment",
                  "omnichannel.browsing.news"]),
    ("interfaces", ["omnichannel", "omnichannel.webhooks", "omnichannel.api",
                    "omnichannel.views", "omnichannel.admin", "omnichannel.templatetags",
                    "omnichannel.management", "omnichannel.testing", "omnichannel.forms",
                    "omnichannel.tasks", "omnichannel.urls", "omnichannel.apps",
                    "omnichannel.checks", "omnichannel.contrib"]),
]  # fmt: skip

#: (importing module, imported module) -> why the import waits until it runs.
ALLOWED_LAZY = {
    # AppConfig.ready(): Django imports the app's modules only once the registry is ready.
    **{
        ("omnichannel.apps", module): "AppConfig.ready()"
        for module in (
            "omnichannel.checks",
            "omnichannel.conf",
            "omnichannel.contacts.segments",
            "omnichannel.flows.receivers",
            "omnichannel.integrations.receivers",
            "omnichannel.outgoing.receivers",
            "omnichannel.popups.config",
            "omnichannel.webhooks.email_tracking",
        )
    },
    **{
        ("omnichannel.contrib.oscar.apps", f"omnichannel.contrib.oscar.{name}"): "AppConfig.ready()"
        for name in ("checks", "receivers")
    },
    # Optional extras: importing these raises ImportError without twilio / pywebpush, which
    # the caller turns into a check message or a CommandError naming the extra to install.
    ("omnichannel.checks", "omnichannel.channels.twilio_base"): "the twilio extra",
    ("omnichannel.checks", "omnichannel.channels.webpush"): "the webpush extra",
    ("omnichannel.checks", "omnichannel.push.vapid"): "the webpush extra",
    (
        "omnichannel.management.commands.omnichannel_vapid_keys",
        "omnichannel.push.vapid",
    ): "the webpush extra",
}


def module_name(path):
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules():
    return {
        module_name(path): path
        for path in sorted(PACKAGE_ROOT.rglob("*.py"))
        if "migrations" not in path.parts
    }


MODULES = package_modules()


def imports_of(module, path):
    """``[(imported module, lazy, line)]`` of the package's own modules ``module`` imports."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []

    def targets(node):
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        if node.level:
            base = package.split(".")
            base = base[: len(base) - node.level + 1]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        return [
            f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source
            for alias in node.names
        ]

    def visit(node, lazy):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in targets(child):
                    if target.split(".")[0] == "omnichannel" and target != module:
                        found.append((owning_module(target), lazy, child.lineno))
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # annotations only: never imported when the code runs
            else:
                visit(child, lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(tree, False)
    return found


def owning_module(dotted):
    while dotted not in MODULES:
        dotted = dotted.rpartition(".")[0]
    return dotted


def layer_of(module):
    best = None
    for rank, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[1]):
                best = (rank, len(prefix))
    return None if best is None else best[0]


def graph():
    """module -> {imported module: (lazy, line)}, allowed lazy imports left out."""
    edges = {}
    for module, path in MODULES.items():
        edges[module] = {}
        for target, lazy, line in imports_of(module, path):
            if lazy and (module, target) in ALLOWED_LAZY:
                continue
            edges[module].setdefault(target, (lazy, line))
    return edges


def with_parent_packages(edges):
    """Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` first, unless the
    importing module is inside them (then they were run before it)."""
    full = {}
    for module, targets in edges.items():
        full[module] = set(targets)
        own = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 2)}
        for target in targets:
            parts = target.split(".")
            full[module] |= {".".join(parts[:i]) for i in range(2, len(parts))} - own
    return full


def cycles(edges):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = iter(range(len(edges) * 2 + 1))

    def connect(node):
        index[node] = low[node] = next(counter)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def test_the_graph_is_read():
    """The reading works: known imports are found, lazy ones marked lazy."""
    edges = graph()
    assert "omnichannel.models" in edges["omnichannel.outbox.dispatch"]
    apps = imports_of("omnichannel.apps", MODULES["omnichannel.apps"])
    assert ("omnichannel.checks", True) in {(target, lazy) for target, lazy, _line in apps}


def test_every_module_has_a_layer():
    assert [module for module in MODULES if layer_of(module) is None] == []


def test_no_module_imports_a_layer_above_its_own():
    upward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} "
        f"({LAYERS[layer_of(target)][0]}), line {line}"
        for module, targets in graph().items()
        for target, (_lazy, line) in targets.items()
        if layer_of(target) > layer_of(module)
    ]
    assert upward == []


def test_models_import_nothing_above_core():
    core = next(rank for rank, (name, _p) in enumerate(LAYERS) if name == "core")
    above = [
        f"{module} imports {target}"
        for module, targets in graph().items()
        if module.startswith("omnichannel.models")
        for target in targets
        if layer_of(target) > core and not target.startswith("omnichannel.models")
    ]
    assert above == []


def test_lazy_imports_are_only_the_listed_ones():
    lazy = [
        f"{module} imports {target} inside a function, line {line}"
        for module, targets in graph().items()
        for target, (is_lazy, line) in targets.items()
        if is_lazy
    ]
    assert lazy == []


def test_the_listed_lazy_imports_still_exist():
    """An entry that no longer matches an import is stale: remove it."""
    lazy = {
        (module, target)
        for module, path in MODULES.items()
        for target, is_lazy, _line in imports_of(module, path)
        if is_lazy
    }
    assert sorted(set(ALLOWED_LAZY) - lazy) == []


def test_no_import_cycles():
    assert cycles(with_parent_packages(graph())) == []


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set(), "c": {"a"}}, []),
    ],
)
def test_cycles_are_found(edges, expected):
    assert cycles(edges) == expected
