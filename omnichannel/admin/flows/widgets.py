"""The flow builder's own fields: the conditions editor of flows, steps and segments (a
select of the registered conditions, each with its own parameter fields), delays in
words, and the block list of emails."""

import json
from datetime import timedelta

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from ...core.durations import DelayError, describe_delay, parse_delay
from ...flows import conditions
from ...outbox import blocks


class DurationInWordsField(forms.DurationField):
    """A duration typed and shown in words ("1 day 2 hours"), in any shipped language; see
    ``omnichannel.core.durations``."""

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "placeholder": _("e.g. 2 hours")}

    def prepare_value(self, value):
        return describe_delay(value) if isinstance(value, timedelta) else value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, timedelta):
            return value
        try:
            return parse_delay(str(value))
        except DelayError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


class TimeOfDayField(forms.TimeField):
    """A time of day ("10:00") with an error that says what to type.

    A plain text input shown as hours and minutes: the admin's clock widget would offer
    "Now" and warn about the *staff member's* offset from the server, while this time is
    read in each contact's own zone.
    """

    widget = forms.TimeInput(format="%H:%M")

    default_error_messages = {
        "invalid": _("Enter a time of day such as “10:00” or “18:30” (24-hour clock).")
    }

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "placeholder": _("e.g. 10:00"), "size": 6}


#: For an admin's ``formfield_overrides``: every duration of a step (its delay, how long
#: its code is valid) in words, and the time of day it waits for.
DURATIONS_IN_WORDS = {
    models.DurationField: {"form_class": DurationInWordsField},
    models.TimeField: {"form_class": TimeOfDayField, "widget": TimeOfDayField.widget},
}


class ConditionsWidget(forms.Widget):
    """One row per condition: which one, and its parameters (the registered form fields).

    Every condition's parameters are in every row; a small script shows those of the
    chosen condition. Two empty rows let staff add conditions; "no condition" removes one.
    Stored values that make no sense (an unregistered condition, odd parameters) are shown
    as they are, for ``conditions.validate()`` to explain on save.
    """

    template_name = "admin/omnichannel/flow/conditions_widget.html"
    blank_rows = 2

    class Media:
        js = ("omnichannel/admin/flow_conditions.js",)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        entries = [e for e in (value if isinstance(value, list) else []) if isinstance(e, dict)]
        known = conditions.choices()
        rows = []
        for index, entry in enumerate(entries + [{}] * self.blank_rows):
            chosen = str(entry.get("name") or "")
            choices = known if chosen in dict(known) or not chosen else [*known, (chosen, chosen)]
            values = entry.get("params")
            rows.append(
                {
                    "prefix": f"{name}-{index}",
                    "chosen": chosen,
                    "choices": choices,
                    "params": self._params(
                        f"{name}-{index}", chosen, values if isinstance(values, dict) else {}
                    ),
                }
            )
        context["widget"]["rows"] = rows
        return context

    def _params(self, prefix, chosen, values):
        params = []
        for condition_name, _label in conditions.choices():
            condition = conditions.get(condition_name)
            for param, field in condition.params.items():
                value = values.get(param) if condition_name == chosen else None
                if isinstance(value, list):
                    value = ", ".join(map(str, value))
                field_name = f"{prefix}-{condition_name}-{param}"
                params.append(
                    {
                        "condition": condition_name,
                        "id": f"id_{field_name}",
                        "label": field.label or param,
                        "html": field.widget.render(
                            field_name, value, attrs={"id": f"id_{field_name}"}
                        ),
                    }
                )
        return params

    def value_from_datadict(self, data, files, name):
        try:
            count = int(data.get(f"{name}-rows", 0))
        except ValueError:
            count = 0
        entries = []
        for index in range(min(count, 50)):
            prefix = f"{name}-{index}"
            chosen = data.get(f"{prefix}-name")
            if not chosen:
                continue
            try:
                params = conditions.get(chosen).params
            except KeyError:
                params = {}  # conditions.validate() names the unknown condition
            entries.append(
                {
                    "name": chosen,
                    "params": {
                        param: field.widget.value_from_datadict(
                            data, files, f"{prefix}-{chosen}-{param}"
                        )
                        for param, field in params.items()
                    },
                }
            )
        return entries

    def value_omitted_from_data(self, data, files, name):
        return f"{name}-rows" not in data


class ConditionsField(forms.Field):
    """Conditions as stored, cleaned by ``conditions.validate()`` (one message per
    problem, naming the condition and the parameter to fix)."""

    widget = ConditionsWidget

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, value):
        return conditions.validate(value or [])


class EmailBlocksWidget(forms.Textarea):
    """The blocks of an email as a list to edit: add a block of a type, fill in its
    fields, move it up or down, remove it (email_blocks.js). The JSON stays in the
    textarea underneath, which is what is posted, and what staff edit without scripts."""

    template_name = "admin/omnichannel/step/email_blocks_widget.html"

    class Media:
        js = ("omnichannel/admin/email_blocks.js",)

    def format_value(self, value):
        # The form field hands over JSON text already; a stored list shows as JSON too.
        return value if isinstance(value, str) else json.dumps(value or [], indent=1)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["schema"] = json.dumps(blocks.editor_schema())
        return context
