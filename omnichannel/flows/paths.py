"""The shape of a flow: which step follows which, and what happens to contacts waiting on
a step that staff delete.

A step's successors are explicit (``Step.next_step``, a split's ``no_next_step``) or, when
empty, the next step by position, so a linear flow needs no links at all. An enrollment
waits for a step by id (``Enrollment.next_step``): reordering or inserting steps leaves
contacts on the step they were due for.

Deleting a step keeps the paths through it: the contacts waiting for it move to the step
that followed it (a split: its "yes" branch), at the time they were due, and they complete
when nothing followed; steps leading to it lead on to where it led.
"""

from django.utils import timezone

from ..models import Enrollment, Step
from ..models.flows import EnrollmentState, StepKind


class Paths:
    """The steps of one flow (in position order) and the links between them."""

    def __init__(self, steps):
        self.steps = list(steps)
        self.by_id = {step.pk: step for step in self.steps}
        following = [*self.steps[1:], None]
        self._after = {step.pk: after for step, after in zip(self.steps, following, strict=False)}

    @property
    def first(self):
        return self.steps[0] if self.steps else None

    def get(self, step_id):
        return self.by_id.get(step_id)

    def after(self, step, branch=True):
        """The step that follows ``step`` (a split: on the ``branch`` taken), or None."""
        if step.kind == StepKind.EXIT:
            return None
        no = step.kind == StepKind.SPLIT and not branch
        target = step.no_next_step_id if no else step.next_step_id
        if target is None:
            return self._after[step.pk]
        return self.by_id.get(target)  # a target in another flow is refused on activation

    def successors(self, step):
        """``[(branch, step)]``: where ``step`` leads. Branch True/False for a split's yes/no
        paths, None for a plain step."""
        if step.kind == StepKind.EXIT:
            return []
        if step.kind == StepKind.SPLIT:
            return [(True, self.after(step, True)), (False, self.after(step, False))]
        return [(None, self.after(step))]


def step_deleted(sender, instance, **kwargs):
    """``pre_delete`` of a step: re-point waiting contacts and links (see the module)."""
    paths = Paths(Step.objects.filter(flow_id=instance.flow_id).order_by("position", "id"))
    step = paths.get(instance.pk)  # as stored: the instance's links may be stale
    if step is None:
        return
    following = paths.after(step)
    waiting = Enrollment.objects.filter(next_step=step, state=EnrollmentState.ACTIVE)
    if following is not None:
        waiting.update(next_step=following)
    else:
        waiting.update(
            state=EnrollmentState.COMPLETED,
            next_step=None,
            next_step_at=None,
            ended_at=timezone.now(),
        )
    onward = step.next_step_id if step.kind != StepKind.EXIT else None
    links = Step.objects.filter(flow_id=step.flow_id).exclude(pk=step.pk)
    links.filter(next_step=step).update(next_step=onward)
    links.filter(no_next_step=step).update(no_next_step=onward)
    # A step that led to the deleted one it followed would now lead to itself.
    links.filter(pk=onward, next_step=onward).update(next_step=None)
    links.filter(pk=onward, no_next_step=onward).update(no_next_step=None)
