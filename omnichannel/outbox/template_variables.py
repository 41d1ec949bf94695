"""Which context variables a staff template uses, read from the compiled template.

A regex over ``{{ ... }}`` would miss ``{% if %}`` tests, filter arguments and ``{% with %}``
values, and would flag a ``{% for line in cart.lines %}`` loop's ``line.name`` as unknown.
Walking the nodes the template engine built sees what the engine will look up:

* ``{{ discount.code }}``, ``{{ cart.value|money:cart.currency }}`` (the argument too),
  the values of ``{% with %}``, ``{% cycle %}``, ``{% firstof %}``, ``{% url %}`` ...;
* names bound by the template itself (``{% for %}`` loop variables and ``forloop``,
  ``{% with %}``, ``{% ... as name %}``) are its own, not the context's;
* a variable is **optional** where the template says it may be absent: inside
  ``{% if discount %}`` (or ``{% if discount.code %}``, ``{% if cart and discount %}``)
  everything under the tested name is optional, and so is a variable given a fallback
  with ``|default`` or ``|default_if_none``, or listed in ``{% firstof %}``;
* the names an ``{% if %}`` tests are **conditions**: a missing one is simply false there.
"""

from dataclasses import dataclass

from django.template.base import FilterExpression, Variable
from django.template.defaulttags import (
    FilterNode,
    FirstOfNode,
    ForNode,
    IfNode,
    TemplateLiteral,
    WithNode,
)

# Names every template context has (``django.template.context.BaseContext``).
BUILTIN_NAMES = frozenset({"True", "False", "None"})
# Filters that give a missing value a fallback.
FALLBACK_FILTERS = frozenset({"default", "default_if_none"})
# Attributes through which a tag binds a name for the rest of the template (``as name``).
BINDING_ATTRIBUTES = ("asvar", "var_name", "variable_name")


@dataclass(frozen=True)
class Use:
    """One lookup of the context: ``path`` ("discount", "code")."""

    path: tuple
    optional: bool = False
    condition: bool = False
    loop: bool = False  # the sequence a {% for %} walks

    @property
    def name(self):
        return ".".join(self.path)

    @property
    def tag(self):
        return f"{{{{ {self.name} }}}}"


def template_uses(template):
    """The context lookups of a compiled ``template``, in the order they appear."""
    return list(_walk(template.nodelist, frozenset(), frozenset()))


def _walk(nodelist, local, guards):
    local = set(local)  # grows with the names bound by `{% ... as name %}` as we go
    for node in nodelist or ():
        if isinstance(node, IfNode):
            for condition, branch in node.conditions_nodelists:
                inner = guards
                if condition is not None:
                    yield from _condition_uses(condition, local, guards)
                    inner = guards | _guarded_names(condition)
                yield from _walk(branch, local, inner)
        elif isinstance(node, ForNode):
            yield from _expression_uses(node.sequence, local, guards, loop=True)
            yield from _walk(node.nodelist_loop, local | {*node.loopvars, "forloop"}, guards)
            yield from _walk(node.nodelist_empty, local, guards)
        elif isinstance(node, FilterNode):
            # `{% filter upper|cut:x %}` compiles to "var|upper|cut:x": "var" is the block.
            yield from _argument_uses(node.filter_expr, local, guards, False)
            yield from _walk(node.nodelist, local, guards)
        elif isinstance(node, WithNode):
            for expression in node.extra_context.values():
                yield from _expression_uses(expression, local, guards)
            yield from _walk(node.nodelist, local | set(node.extra_context), guards)
        else:
            # Bound first: `{% regroup cart.lines by name as groups %}` looks up "groups.name".
            local |= {
                bound
                for attribute in BINDING_ATTRIBUTES
                if isinstance(bound := getattr(node, attribute, None), str) and bound
            }
            fallback = isinstance(node, FirstOfNode)  # prints the first of its values set
            for value in vars(node).values():
                for expression in _expressions_in(value):
                    yield from _expression_uses(expression, local, guards, fallback=fallback)
            for attribute in node.child_nodelists:
                yield from _walk(getattr(node, attribute, None), local, guards)


def _expressions_in(value):
    """The filter expressions a node holds in one attribute (alone, in a list, a dict)."""
    if isinstance(value, FilterExpression):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [item for item in value if isinstance(item, FilterExpression)]
    return []


def _expression_uses(expression, local, guards, condition=False, fallback=False, loop=False):
    names = [f.__name__ for f, _args in expression.filters]
    fallback = fallback or bool(FALLBACK_FILTERS.intersection(names))
    found = [_use(expression.var, local, guards, fallback, condition, loop)]
    return [use for use in found if use is not None] + _argument_uses(
        expression, local, guards, condition
    )


def _argument_uses(expression, local, guards, condition):
    """The variables given to the filters of ``expression`` (``money:cart.currency``)."""
    found = [
        _use(argument, local, guards, False, condition, False)
        for _function, arguments in expression.filters
        for is_lookup, argument in arguments
        if is_lookup
    ]
    return [use for use in found if use is not None]


def _use(variable, local, guards, fallback, condition, loop):
    if not isinstance(variable, Variable) or not variable.lookups:
        return None  # a literal: "text", 3, _("translated")
    path = tuple(variable.lookups)
    if path[0] in local or path[0] in BUILTIN_NAMES:
        return None
    return Use(path, optional=fallback or path[0] in guards, condition=condition, loop=loop)


def _condition_uses(condition, local, guards):
    if isinstance(condition, TemplateLiteral):
        yield from _expression_uses(condition.value, local, guards, condition=True)
        return
    for operand in (getattr(condition, "first", None), getattr(condition, "second", None)):
        if operand is not None:
            yield from _condition_uses(operand, local, guards)


def _guarded_names(condition):
    """The names a true ``condition`` proves present: tested alone, or joined by ``and``."""
    if isinstance(condition, TemplateLiteral):
        variable = condition.value.var
        if isinstance(variable, Variable) and variable.lookups:
            return frozenset({variable.lookups[0]})
        return frozenset()
    if getattr(condition, "id", None) == "and":
        return _guarded_names(condition.first) | _guarded_names(condition.second)
    return frozenset()
