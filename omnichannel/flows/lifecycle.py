"""A flow's status changes: activate, resume, pause, archive, and copying one as a draft.

The one place these rules live; the admin's actions and buttons, the install command and
any code that switches flows use it:

* activating (a draft, or an archived flow again) and resuming (a paused flow) need the
  flow to pass its validation (``validation.blocking``); the first activation stamps
  ``activated_at``, and a flow enrols only triggers after it, so switching a flow on
  never messages the past;
* pausing keeps the contacts where they are (their messages wait, see the policy);
* archiving takes the contacts out and cancels the messages they still have waiting;
* a copy is a draft with its steps (and the ways between them), variants and contents,
  and no enrollments.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Enrollment, Flow, Step
from ..models.flows import EnrollmentState, FlowStatus
from . import validation
from .engine import exit_enrollments


@dataclass
class Switched:
    """What switching flows on did: the flows switched on, and those refused with the
    problems that block them."""

    done: list = field(default_factory=list)
    refused: list = field(default_factory=list)  # [(flow, [validation.Problem, ...])]


def activate(flows):
    """Activate the ``flows`` not active yet that pass validation."""
    return _switch_on([flow for flow in flows if flow.status != FlowStatus.ACTIVE])


def resume(flows):
    """Resume the paused ones of ``flows`` that pass validation."""
    return _switch_on([flow for flow in flows if flow.status == FlowStatus.PAUSED])


def _switch_on(flows):
    switched = Switched()
    for flow in flows:
        found = validation.blocking(flow)
        if found:
            switched.refused.append((flow, found))
            continue
        flow.status = FlowStatus.ACTIVE
        flow.activated_at = flow.activated_at or timezone.now()
        flow.save(update_fields=["status", "activated_at", "updated_at"])
        switched.done.append(flow)
    return switched


def pause(flows):
    """Pause the active ones of ``flows`` (a queryset); returns how many."""
    return flows.filter(status=FlowStatus.ACTIVE).update(
        status=FlowStatus.PAUSED, updated_at=timezone.now()
    )


def archive(flows):
    """Archive ``flows`` (a queryset) and take their contacts out; returns
    ``(flows archived, contacts taken out)``."""
    with transaction.atomic():
        ids = list(flows.exclude(status=FlowStatus.ARCHIVED).values_list("pk", flat=True))
        Flow.objects.filter(pk__in=ids).update(
            status=FlowStatus.ARCHIVED, updated_at=timezone.now()
        )
        active = Enrollment.objects.filter(flow_id__in=ids, state=EnrollmentState.ACTIVE)
        exited = exit_enrollments(list(active.only("pk", "state")), "flow archived")
    return len(ids), exited


def copy_flow(flow):
    """A draft copy of ``flow`` with its steps, variants and contents (a new slug, no
    enrollments), e.g. to build a new series from the welcome series."""
    with transaction.atomic():
        copy = Flow.objects.get(pk=flow.pk)
        copy.pk, copy._state.adding = None, True
        copy.name = (_("%s (copy)") % flow.name)[: Flow._meta.get_field("name").max_length]
        copy.slug = free_slug(flow.slug)
        copy.status, copy.activated_at = FlowStatus.DRAFT, None
        copy.save()
        copied = {}  # the original step's pk -> its copy
        for step in Step.objects.filter(flow=flow).prefetch_related("variants", "contents"):
            step_variants, contents = list(step.variants.all()), list(step.contents.all())
            original = step.pk
            step.pk, step._state.adding, step.flow = None, True, copy
            step.save()
            copied[original] = step
            new_variants = {}
            for variant in step_variants:
                old_pk = variant.pk
                variant.pk, variant._state.adding, variant.step = None, True, step
                variant.save()
                new_variants[old_pk] = variant
            for content in contents:
                content.variant = new_variants.get(content.variant_id)
                content.pk, content._state.adding, content.step = None, True, step
                content.save()
        # The copy's ways lead between its own steps, as the original's did.
        for step in copied.values():
            step.next_step = copied.get(step.next_step_id)
            step.no_next_step = copied.get(step.no_next_step_id)
        Step.objects.bulk_update(copied.values(), ["next_step", "no_next_step"])
        # The canvas draws the copy's steps where it drew the original's.
        copy.canvas_layout = {
            str(copied[int(pk)].pk): place
            for pk, place in flow.canvas_layout.items()
            if int(pk) in copied
        }
        copy.save(update_fields=["canvas_layout"])
    return copy


def free_slug(slug):
    """``<slug>-copy``, numbered when taken, within the slug's 50 characters."""
    base = f"{slug[:40]}-copy"  # room for "-9999"
    taken = set(Flow.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate
