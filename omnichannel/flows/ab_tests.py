"""A/B tests of popups and message steps: each arm's figures, the verdict, the promotion.

A test is

* a popup's variants in one language that have a weight (weight 0 pauses a variant, and
  the variants of a popup are its translations too, so French is tested against French
  only): sample = impressions, conversion = a subscription;
* a message step's variants that are not retired: sample = messages sent, conversion =
  a message clicked, or with ``AB_TESTS["metric"] = "orders"`` a message whose contact
  placed a purchase attributed to its variant (``TrackedOrder.attributed_variant``).

The verdict is ``core.significance.decide`` with ``AB_TESTS``' ``min_sample`` and
``confidence``. Promoting the winner pauses the other popup variants (weight 0, kept
with their figures) or retires the other step variants (``StepVariant.retired``: no
longer drawn, while the enrollments that had one keep it), and writes one
``ABTestDecision``. The periodic task (``decide_all``) promotes when ``auto_promote`` is
on and otherwise notes each new winner once; either way a test already decided the same
way gets no second row.

Evaluating any number of tests costs a fixed handful of aggregate queries.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q

from ..conf import omnichannel_settings
from ..core.rates import ratio
from ..core.significance import decide
from ..models import (
    ABTestDecision,
    DeliveryEvent,
    Message,
    Popup,
    PopupEvent,
    PopupVariant,
    Step,
    StepVariant,
    TrackedOrder,
)
from ..models.ab_tests import ABTestKind
from ..models.messages import DeliveryEventKind
from ..models.popups import PopupEventKind

SUBMISSIONS = "submissions"  # the popup tests' metric; the steps' is AB_TESTS["metric"]


@dataclass(frozen=True)
class Arm:
    variant: object
    sample: int
    conversions: int
    missing: int  # samples still needed before a winner may be named

    @property
    def rate(self):
        return ratio(self.conversions, self.sample)


@dataclass(frozen=True)
class ABTest:
    kind: str
    subject: object  # the Popup or the Step
    locale: str  # popups: the variants' language ("" for every other); steps: ""
    metric: str
    arms: tuple  # best rate first
    confidence: float
    winner: Arm | None

    @property
    def needs(self):
        """Samples still needed by the arm that lacks the most (0 once all have enough)."""
        return max(arm.missing for arm in self.arms)

    def losers(self):
        return [arm.variant for arm in self.arms if arm is not self.winner]


def popup_tests(popups):
    """The tests of ``popups`` (a queryset or list), in popup then language order. Two
    queries."""
    variants = PopupVariant.objects.filter(popup__in=popups, weight__gt=0).select_related("popup")
    groups = {}
    for variant in variants.order_by("popup_id", "locale", "id"):
        groups.setdefault((variant.popup, variant.language), []).append(variant)
    groups = {key: arms for key, arms in groups.items() if len(arms) > 1}
    counts = {}
    events = (
        PopupEvent.objects.filter(
            variant__in=[v.pk for arms in groups.values() for v in arms],
            kind__in=(PopupEventKind.IMPRESSION, PopupEventKind.SUBMIT),
        )
        .values("variant_id", "kind")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for row in events:
        counts[row["variant_id"], row["kind"]] = row["count"]
    return [
        _judged(
            ABTestKind.POPUP,
            popup,
            locale,
            SUBMISSIONS,
            [
                (
                    variant,
                    counts.get((variant.pk, PopupEventKind.IMPRESSION), 0),
                    counts.get((variant.pk, PopupEventKind.SUBMIT), 0),
                )
                for variant in arms
            ],
        )
        for (popup, locale), arms in groups.items()
    ]


def step_tests(steps):
    """The tests of ``steps`` (a queryset or list), in step order. Two queries, three
    when judged by orders."""
    metric = omnichannel_settings.AB_TESTS["metric"]
    groups = {}
    variants = StepVariant.objects.filter(step__in=steps, retired=False)
    variants = variants.select_related("step__flow")  # the flow: the test's name
    for variant in variants.order_by("step__flow_id", "step__position", "step_id", "id"):
        groups.setdefault(variant.step, []).append(variant)
    groups = {step: arms for step, arms in groups.items() if len(arms) > 1}
    variant_ids = [variant.pk for arms in groups.values() for variant in arms]
    clicked = Exists(
        DeliveryEvent.objects.filter(message=OuterRef("pk"), kind=DeliveryEventKind.CLICKED)
    )
    sent, converted = {}, {}
    messages = (
        Message.objects.filter(variant__in=variant_ids, sent_at__isnull=False)
        .values("variant_id")
        .annotate(sent=Count("pk"), clicked=Count("pk", filter=Q(clicked)))
        .order_by()
    )
    for row in messages:
        sent[row["variant_id"]], converted[row["variant_id"]] = row["sent"], row["clicked"]
    if metric == "orders":
        # A buyer converts once per arm however often they ordered: the rate stays a share
        # of the messages, which the z-test needs.
        converted = dict(
            TrackedOrder.objects.filter(attributed_variant__in=variant_ids, is_purchase=True)
            .values("attributed_variant_id")
            .annotate(count=Count("contact", distinct=True))
            .values_list("attributed_variant_id", "count")
            .order_by()
        )
    return [
        _judged(
            ABTestKind.STEP,
            step,
            "",
            metric,
            [(v, sent.get(v.pk, 0), converted.get(v.pk, 0)) for v in arms],
        )
        for step, arms in groups.items()
    ]


def _judged(kind, subject, locale, metric, figures):
    """The ``ABTest`` of ``figures``, ``[(variant, sample, conversions)]``."""
    settings = omnichannel_settings.AB_TESTS
    # Never more conversions than samples: an order attributed to a message counted as
    # not sent yet, or a submission whose impression was lost, must not break the maths.
    figures = [
        (variant, sample, min(conversions, sample)) for variant, sample, conversions in figures
    ]
    verdict = decide(
        [(conversions, sample) for _variant, sample, conversions in figures],
        settings["min_sample"],
        settings["confidence"],
    )
    arms = [
        Arm(variant, sample, conversions, verdict.missing[index])
        for index, (variant, sample, conversions) in enumerate(figures)
    ]
    return ABTest(
        kind=kind,
        subject=subject,
        locale=locale,
        metric=metric,
        arms=tuple(arms[index] for index in verdict.order),
        confidence=verdict.confidence,
        winner=None if verdict.winner is None else arms[verdict.winner],
    )


def promote(test, user=None):
    """Promote ``test``'s winner: pause (popups) or retire (steps) the other arms and
    write the decision. Returns it, or None when there is no winner or another run (a
    second click, the periodic task) promoted it first."""
    if test.winner is None:
        return None
    with transaction.atomic():
        # Locked, then re-read: of two runs at once, the second finds nothing to change.
        if test.kind == ABTestKind.POPUP:
            losers = PopupVariant.objects.select_for_update().filter(
                pk__in=[v.pk for v in test.losers()], weight__gt=0
            )
            paused = list(losers)
            for variant in paused:
                # Saved one by one so the popup cache is cleared as after an edit.
                variant.weight = 0
                variant.save(update_fields=["weight"])
            changed = bool(paused)
        else:
            losers = StepVariant.objects.select_for_update().filter(
                pk__in=[v.pk for v in test.losers()], retired=False
            )
            changed = bool(losers.update(retired=True))
        if not changed:
            return None
        decision = _decision(test, promoted=True, user=user)
        decision.save()
        return decision


def _decision(test, *, promoted, user=None):
    """The (unsaved) history row of ``test``'s verdict as it stands."""
    popup, step = (test.subject, None) if test.kind == ABTestKind.POPUP else (None, test.subject)
    return ABTestDecision(
        kind=test.kind,
        popup=popup,
        step=step,
        locale=test.locale,
        subject=str(test.subject) + (f" ({test.locale})" if test.locale else ""),
        metric=test.metric,
        winner_id=test.winner.variant.pk,
        winner_name=test.winner.variant.name,
        figures=[
            {
                "variant_id": arm.variant.pk,
                "name": arm.variant.name,
                "sample": arm.sample,
                "conversions": arm.conversions,
            }
            for arm in test.arms
        ],
        confidence=test.confidence,
        promoted=promoted,
        decided_by=user,
    )


@dataclass
class Decided:
    evaluated: int = 0
    promoted: int = 0
    noted: int = 0


def decide_all():
    """Judge every test; promote the winners when ``AB_TESTS["auto_promote"]`` is on, else
    note each new winner once. Run again, it writes nothing new."""
    tests = popup_tests(Popup.objects.all()) + step_tests(Step.objects.all())
    decided = [test for test in tests if test.winner is not None]
    outcome = Decided(evaluated=len(tests))
    if omnichannel_settings.AB_TESTS["auto_promote"]:
        outcome.promoted = sum(promote(test) is not None for test in decided)
        return outcome
    latest = {}
    noted = ABTestDecision.objects.filter(
        Q(popup__in=[t.subject for t in decided if t.kind == ABTestKind.POPUP])
        | Q(step__in=[t.subject for t in decided if t.kind == ABTestKind.STEP])
    ).order_by("decided_at", "id")
    for decision in noted:
        latest[decision.kind, decision.popup_id or decision.step_id, decision.locale] = decision
    new = [
        _decision(test, promoted=False)
        for test in decided
        if getattr(latest.get((test.kind, test.subject.pk, test.locale)), "winner_id", None)
        != test.winner.variant.pk
    ]
    outcome.noted = len(ABTestDecision.objects.bulk_create(new))
    return outcome
