"""Reads of the research bases: scoped feedback lists, callback due lists, feedback evidence per port and
project, and external benchmarks beside our own snapshot rates.

The numbers are pure functions over small dataclasses (``callback_due_items``, ``port_evidence``,
``pearson``); the functions below them only load those inputs from the database.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404

from departments.ports import port_label
from departments.selectors import ports_visible_to
from feedback.models import (
    Callback,
    CallbackAnchor,
    CallbackOutcome,
    CallbackRule,
    ExternalBenchmark,
    ExternalBenchmarkRow,
    Feedback,
    FeedbackKind,
    FeedbackStatus,
)
from owners.models import Owner, Project
from owners.stages import stage_as_of, stage_label
from satisfaction.models import MetricSnapshot
from surveys.answers import answer_codes, decode_answers
from surveys.models import Question, Survey

# ---------------------------------------------------------------------------------------------------------------
# Who may do what: who keys in feedback, callbacks and external reports is ``departments.selectors.
# user_may_enter_data`` (brand-service staff); who sees a record follows its port.
# ---------------------------------------------------------------------------------------------------------------

def feedback_visible_to(*, user) -> QuerySet[Feedback]:
    """Feedback of the ports this user may see (a head sees only their ports' feedback)."""
    return Feedback.objects.filter(port__in=ports_visible_to(user)).select_related("project", "owner")


def feedback_get_for_user(*, user, pk: int) -> Feedback:
    feedback = feedback_visible_to(user=user).filter(pk=pk).first()
    if feedback is None:
        raise Http404("没有这条反馈，或无权查看")
    return feedback


def feedback_list(
    *,
    user,
    kind: str = "",
    port: str = "",
    project: Project | None = None,
    status: str = "",
    received_from: date | None = None,
    received_to: date | None = None,
) -> QuerySet[Feedback]:
    qs = feedback_visible_to(user=user)
    if kind:
        qs = qs.filter(kind=kind)
    if port:
        qs = qs.filter(port=port)
    if project is not None:
        qs = qs.filter(project=project)
    if status:
        qs = qs.filter(status=status)
    if received_from:
        qs = qs.filter(received_on__gte=received_from)
    if received_to:
        qs = qs.filter(received_on__lte=received_to)
    return qs.order_by("-received_on", "-id")


# ---------------------------------------------------------------------------------------------------------------
# Callback due lists
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    id: int
    name: str
    months: int
    window_days: int
    anchor: str = CallbackAnchor.MOVE_IN  # contract: 准业主, counted from signing while not yet moved in


@dataclass(frozen=True)
class OwnerSpec:
    id: int
    move_in_date: date | None
    contract_date: date | None = None


@dataclass(frozen=True)
class DueItem:
    owner_id: int
    rule_id: int
    due_on: date
    window_start: date
    window_end: date
    days_to_due: int  # negative: overdue by that many days

    @property
    def days_overdue(self) -> int:
        return max(0, -self.days_to_due)


def callback_due_on(move_in_date: date, months: int) -> date:
    """The callback date N calendar months after move-in; the 31st or 29 Feb falls back to the month's last day."""
    return move_in_date + relativedelta(months=months)


def _anchor_date(owner: OwnerSpec, rule: RuleSpec, today: date) -> date | None:
    """The day a rule counts from for this owner, or None when the rule does not apply to them today: move-in
    rules need an owner moved in by today; contract rules (准业主) a signed owner not yet moved in today."""
    if rule.anchor == CallbackAnchor.CONTRACT:
        moved_in = owner.move_in_date is not None and owner.move_in_date <= today
        return owner.contract_date if owner.contract_date is not None and not moved_in else None
    if owner.move_in_date is None or owner.move_in_date > today:
        return None
    return owner.move_in_date


def callback_due_items(
    *, owners: Iterable[OwnerSpec], rules: Sequence[RuleSpec], today: date, done: set[tuple[int, int]] = frozenset()
) -> list[DueItem]:
    """Owners whose callback under a rule falls within ± window days of today (both bounds included) and has
    not been done yet (``done`` holds (owner id, rule id) pairs reached or refused)."""
    items = []
    for owner in owners:
        for rule in rules:
            if (owner.id, rule.id) in done:
                continue
            anchor = _anchor_date(owner, rule, today)
            if anchor is None:
                continue
            due_on = callback_due_on(anchor, rule.months)
            window = timedelta(days=rule.window_days)
            if due_on - window <= today <= due_on + window:
                items.append(
                    DueItem(
                        owner_id=owner.id,
                        rule_id=rule.id,
                        due_on=due_on,
                        window_start=due_on - window,
                        window_end=due_on + window,
                        days_to_due=(due_on - today).days,
                    )
                )
    return sorted(items, key=lambda item: (item.due_on, item.owner_id, item.rule_id))


@dataclass
class DueRow:
    item: DueItem
    owner: Owner
    rule: CallbackRule
    stage: str
    attempts: int
    inline_form: object = None  # the page's outcome form for this row

    @property
    def stage_label(self) -> str:
        return stage_label(self.stage)


def callback_rules_active() -> list[CallbackRule]:
    return list(CallbackRule.objects.filter(is_active=True).order_by("anchor", "months_after_move_in", "id"))


def callback_rules_all() -> list[CallbackRule]:
    return list(CallbackRule.objects.order_by("-is_active", "anchor", "months_after_move_in", "id"))


def _owners_in_reach(rules: list[CallbackRule], *, anchor: str, field: str, today: date) -> Q:
    """Owners whose ``field`` date can put a due date of one of these rules inside its window (a few days'
    slack covers month-end clamping); an empty Q-less filter when no rule has that anchor."""
    rules = [rule for rule in rules if rule.anchor == anchor]
    if not rules:
        return Q(pk__in=[])
    longest = max(rule.months_after_move_in for rule in rules)
    shortest = min(rule.months_after_move_in for rule in rules)
    widest = max(rule.window_days for rule in rules) + 3
    return Q(
        **{
            f"{field}__gte": today - relativedelta(months=longest) - timedelta(days=widest),
            f"{field}__lte": today - relativedelta(months=shortest) + timedelta(days=widest),
        }
    )


def callback_due_list(
    *,
    today: date,
    project: Project | None = None,
    stage: str = "",
    due_from: date | None = None,
    due_to: date | None = None,
) -> list[DueRow]:
    """The due list of every active rule as of ``today``, with owners loaded (phones shown masked by the page);
    optionally only one project, one stage (as of the due date) and due dates within [due_from, due_to]."""
    rules = callback_rules_active()
    if not rules:
        return []
    reach = _owners_in_reach(rules, anchor=CallbackAnchor.MOVE_IN, field="move_in_date", today=today) | (
        _owners_in_reach(rules, anchor=CallbackAnchor.CONTRACT, field="contract_date", today=today)
        & (Q(move_in_date__isnull=True) | Q(move_in_date__gt=today))
    )
    owners_qs = Owner.objects.filter(reach, anonymised_at__isnull=True).select_related("project")
    if project is not None:
        owners_qs = owners_qs.filter(project=project)
    owners = {owner.pk: owner for owner in owners_qs.order_by("id")}
    attempts = Counter()
    done = set()
    for owner_id, rule_id, outcome in Callback.objects.filter(owner_id__in=owners, rule__in=rules).values_list(
        "owner_id", "rule_id", "outcome"
    ):
        attempts[(owner_id, rule_id)] += 1
        if outcome in (CallbackOutcome.REACHED, CallbackOutcome.REFUSED):
            done.add((owner_id, rule_id))
    items = callback_due_items(
        owners=[OwnerSpec(owner.pk, owner.move_in_date, owner.contract_date) for owner in owners.values()],
        rules=[RuleSpec(r.pk, r.name, r.months_after_move_in, r.window_days, r.anchor) for r in rules],
        today=today,
        done=done,
    )
    rules_by_id = {rule.pk: rule for rule in rules}
    rows = [
        DueRow(
            item=item,
            owner=owners[item.owner_id],
            rule=rules_by_id[item.rule_id],
            stage=stage_as_of(owners[item.owner_id].move_in_date, item.due_on),
            attempts=attempts[(item.owner_id, item.rule_id)],
        )
        for item in items
    ]
    return [
        row
        for row in rows
        if (not stage or row.stage == stage)
        and (due_from is None or row.item.due_on >= due_from)
        and (due_to is None or row.item.due_on <= due_to)
    ]


def callback_due_on_for(owner: Owner, rule: CallbackRule) -> date | None:
    """The due date of this owner's callback under the rule (None when the anchor date is unknown)."""
    anchor = owner.contract_date if rule.anchor == CallbackAnchor.CONTRACT else owner.move_in_date
    return callback_due_on(anchor, rule.months_after_move_in) if anchor else None


def callbacks_recent(*, limit: int = 20) -> list[Callback]:
    """The latest callbacks, each with ``scores``: its response's scores in question order (None = not answered),
    or None when the call recorded no response."""
    callbacks = list(
        Callback.objects.select_related("owner", "owner__project", "rule", "response")
        .order_by("-called_on", "-id")[:limit]
    )
    codes: dict[int, list[str]] = {}
    for callback in callbacks:
        response = callback.response
        if response is None:
            callback.scores = None
            continue
        if response.survey_id not in codes:
            codes[response.survey_id] = answer_codes(Question.objects.filter(survey_id=response.survey_id))
        callback.scores = list(decode_answers(codes[response.survey_id], response.answers).values())
    return callbacks


# ---------------------------------------------------------------------------------------------------------------
# Feedback evidence (pure)
# ---------------------------------------------------------------------------------------------------------------

KIND_ORDER = tuple(FeedbackKind.values)


@dataclass(frozen=True)
class FeedbackFact:
    kind: str
    project_code: str
    received_on: date
    closed_on: date | None = None


@dataclass(frozen=True)
class ProjectBase:
    code: str
    name: str
    unit_count: int | None
    owner_count: int

    @property
    def base(self) -> int:
        """Households to divide by: the project's unit count, else the owners on record."""
        return self.unit_count if self.unit_count is not None else self.owner_count

    @property
    def base_is_units(self) -> bool:
        return self.unit_count is not None


@dataclass(frozen=True)
class ProjectEvidence:
    code: str
    name: str
    counts: dict[str, int]
    base: int
    base_is_units: bool
    complaints_per_100: float | None
    repairs_per_100: float | None
    satisfaction_rate: float | None
    satisfaction_n: int

    @property
    def complaints(self) -> int:
        return self.counts.get(FeedbackKind.COMPLAINT, 0)

    @property
    def repairs(self) -> int:
        return self.counts.get(FeedbackKind.REPAIR, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class PortEvidence:
    port: str
    volume_by_kind: dict[str, int]
    projects: list[ProjectEvidence]
    complaints_per_100: float | None
    repairs_per_100: float | None
    base: int
    basis: str  # units | owners | mixed
    closed: int
    close_days_median: float | None
    close_days_mean: float | None
    correlation: float | None
    correlation_projects: int
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.volume_by_kind.values())

    @property
    def complaints(self) -> int:
        return self.volume_by_kind.get(FeedbackKind.COMPLAINT, 0)

    @property
    def repairs(self) -> int:
        return self.volume_by_kind.get(FeedbackKind.REPAIR, 0)


def feedback_volume_by_kind(facts: Iterable[FeedbackFact]) -> dict[str, int]:
    """Count per kind, every kind present (zero included), in the kinds' order."""
    counts = Counter(fact.kind for fact in facts)
    return {kind: counts.get(kind, 0) for kind in KIND_ORDER}


def per_hundred(count: int, base: int) -> float | None:
    return None if base <= 0 else count * 100.0 / base


def days_to_close(facts: Iterable[FeedbackFact]) -> list[int]:
    return [(fact.closed_on - fact.received_on).days for fact in facts if fact.closed_on is not None]


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r; None with fewer than three pairs or when either side does not vary."""
    n = len(xs)
    if n != len(ys) or n < 3:
        return None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    syy = sum((y - mean_y) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys))
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def port_evidence(
    *,
    port: str,
    facts: Sequence[FeedbackFact],
    projects: Sequence[ProjectBase],
    satisfaction: dict[str, tuple[float | None, int]],
) -> PortEvidence:
    """Feedback volume, complaints and repairs per 100 households, time to close, and the correlation across
    projects of the complaint rate with the port's satisfaction rate (``satisfaction``: code → (rate, n))."""
    by_project: dict[str, list[FeedbackFact]] = {}
    for fact in facts:
        by_project.setdefault(fact.project_code, []).append(fact)
    rows = []
    for project in sorted(projects, key=lambda p: p.code):
        project_facts = by_project.get(project.code, [])
        if not project_facts and project.code not in satisfaction:
            continue
        counts = feedback_volume_by_kind(project_facts)
        rate, n = satisfaction.get(project.code, (None, 0))
        rows.append(
            ProjectEvidence(
                code=project.code,
                name=project.name,
                counts=counts,
                base=project.base,
                base_is_units=project.base_is_units,
                complaints_per_100=per_hundred(counts[FeedbackKind.COMPLAINT], project.base),
                repairs_per_100=per_hundred(counts[FeedbackKind.REPAIR], project.base),
                satisfaction_rate=rate,
                satisfaction_n=n,
            )
        )
    based = [row for row in rows if row.base > 0]
    base = sum(row.base for row in based)
    kinds = {row.base_is_units for row in based}
    basis = "mixed" if len(kinds) > 1 else ("owners" if kinds == {False} else "units")
    notes = []
    unbased = [row.code for row in rows if row.base <= 0 and row.total]
    if unbased:
        notes.append(f"楼盘 {'、'.join(unbased)} 既无总户数也无业主记录，未计入每百户指标")
    paired = [row for row in rows if row.satisfaction_rate is not None and row.complaints_per_100 is not None]
    days = days_to_close(facts)
    return PortEvidence(
        port=port,
        volume_by_kind=feedback_volume_by_kind(facts),
        projects=rows,
        complaints_per_100=per_hundred(sum(row.complaints for row in based), base),
        repairs_per_100=per_hundred(sum(row.repairs for row in based), base),
        base=base,
        basis=basis,
        closed=len(days),
        close_days_median=float(statistics.median(days)) if days else None,
        close_days_mean=statistics.fmean(days) if days else None,
        correlation=pearson([row.complaints_per_100 for row in paired], [row.satisfaction_rate for row in paired]),
        correlation_projects=len(paired),
        notes=notes,
    )


# ---------------------------------------------------------------------------------------------------------------
# Feedback evidence (loading)
# ---------------------------------------------------------------------------------------------------------------


def feedback_facts(*, port: str, received_from: date | None = None, received_to: date | None = None) -> list[FeedbackFact]:
    qs = Feedback.objects.filter(port=port)
    if received_from:
        qs = qs.filter(received_on__gte=received_from)
    if received_to:
        qs = qs.filter(received_on__lte=received_to)
    return [
        FeedbackFact(kind, code, received_on, closed_on if status == FeedbackStatus.CLOSED else None)
        for kind, code, received_on, closed_on, status in qs.order_by("id").values_list(
            "kind", "project__code", "received_on", "closed_on", "status"
        )
    ]


def project_bases(*, codes: Iterable[str]) -> list[ProjectBase]:
    projects = (
        Project.objects.filter(code__in=set(codes))
        .annotate(owner_count=Count("owners", filter=Q(owners__anonymised_at__isnull=True)))
        .order_by("code")
    )
    return [ProjectBase(p.code, p.name, p.unit_count, p.owner_count) for p in projects]


def port_satisfaction_by_project(*, port: str, survey: Survey | None) -> dict[str, tuple[float | None, int]]:
    """The port's satisfaction rate per project in the survey's snapshots (all stages)."""
    if survey is None:
        return {}
    rows = MetricSnapshot.objects.filter(survey=survey, port=port, project__isnull=False, stage="").values_list(
        "project__code", "satisfaction_rate", "n"
    )
    return {code: (rate, n) for code, rate, n in rows.order_by("project__code")}


def feedback_port_evidence(
    *, port: str, survey: Survey | None, received_from: date | None = None, received_to: date | None = None
) -> PortEvidence:
    facts = feedback_facts(port=port, received_from=received_from, received_to=received_to)
    satisfaction = port_satisfaction_by_project(port=port, survey=survey)
    projects = project_bases(codes={fact.project_code for fact in facts} | set(satisfaction))
    return port_evidence(port=port, facts=facts, projects=projects, satisfaction=satisfaction)


def feedback_port_version(*, port: str) -> tuple:
    """The state of a port's feedback, for cache keys: any record added, removed or saved changes it (``updated_at``
    moves on every save; the count and the largest id catch deletions and additions)."""
    state = Feedback.objects.filter(port=port).aggregate(n=Count("id"), top=Max("id"), last=Max("updated_at"))
    return (state["n"], state["top"], state["last"])


# The evidence of a port is the same for everybody who may see the port; cached under the feedback state and the
# survey's snapshot version. The short TTL bounds what the key does not name (a project's unit or owner count).
EVIDENCE_SECONDS = 60


def feedback_port_evidence_cached(*, port: str, survey: Survey | None) -> PortEvidence:
    snapshot_at = (
        MetricSnapshot.objects.filter(survey=survey).aggregate(at=Max("computed_at"))["at"] if survey else None
    )
    parts = (port, survey.pk if survey else None, snapshot_at, feedback_port_version(port=port))
    key = "feedback:evidence:" + hashlib.sha256(repr(parts).encode()).hexdigest()
    evidence = cache.get(key)
    if evidence is None:
        evidence = feedback_port_evidence(port=port, survey=survey)
        cache.set(key, evidence, EVIDENCE_SECONDS)
    return evidence


def feedback_port_panel(*, port: str, survey: Survey | None, user) -> dict:
    """Context of ``templates/feedback/port_panel.html``: nothing when the user may not see the port."""
    if port not in ports_visible_to(user):
        return {"feedback_evidence": None, "feedback_port": port, "feedback_survey": survey}
    return {
        "feedback_evidence": feedback_port_evidence_cached(port=port, survey=survey),
        "feedback_port": port,
        "feedback_port_label": port_label(port),
        "feedback_survey": survey,
        "feedback_kinds": FeedbackKind.choices,
    }


# ---------------------------------------------------------------------------------------------------------------
# External benchmarks beside our own rates
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchmarkComparison:
    row: ExternalBenchmarkRow
    our_rate: float | None
    our_n: int | None
    our_loyalty_rate: float | None

    @property
    def difference(self) -> float | None:
        """Our rate minus the benchmark's (positive: we are above it)."""
        return None if self.our_rate is None else self.our_rate - self.row.satisfaction_rate

    @property
    def loyalty_difference(self) -> float | None:
        if self.our_loyalty_rate is None or self.row.loyalty_rate is None:
            return None
        return self.our_loyalty_rate - self.row.loyalty_rate


def _compare(rows: Sequence[ExternalBenchmarkRow], survey: Survey | None) -> list[BenchmarkComparison]:
    ours = {}
    if survey is not None:
        for snap in MetricSnapshot.objects.filter(survey=survey).only(
            "port", "project_id", "stage", "satisfaction_rate", "n", "loyalty_rate"
        ).order_by("id"):
            ours[(snap.port, snap.project_id, snap.stage)] = snap
    comparisons = []
    for row in rows:
        snap = ours.get((row.port, row.project_id, row.stage))
        comparisons.append(
            BenchmarkComparison(
                row=row,
                our_rate=snap.satisfaction_rate if snap else None,
                our_n=snap.n if snap else None,
                our_loyalty_rate=snap.loyalty_rate if snap and not row.port else None,
            )
        )
    return comparisons


def benchmarks_visible_rows(*, user) -> QuerySet[ExternalBenchmarkRow]:
    """Headline rows for everyone signed in; port rows only for the ports the user may see."""
    return ExternalBenchmarkRow.objects.filter(Q(port="") | Q(port__in=ports_visible_to(user))).select_related(
        "benchmark", "project"
    )


def benchmark_comparisons(*, benchmark: ExternalBenchmark, survey: Survey | None, user) -> list[BenchmarkComparison]:
    rows = benchmarks_visible_rows(user=user).filter(benchmark=benchmark).order_by("port", "project__code", "stage", "id")
    return _compare(list(rows), survey)


def benchmarks_for_port(*, port: str | None, survey: Survey | None) -> list[BenchmarkComparison]:
    """Every external result for a port (None or '' = headline), all reports, with our rate for the same slice
    in ``survey``. The caller checks the port is visible to its user."""
    rows = (
        ExternalBenchmarkRow.objects.filter(port=port or "")
        .select_related("benchmark", "project")
        .order_by("-benchmark__report_on", "benchmark__name", "project__code", "stage", "id")
    )
    return _compare(list(rows), survey)


def benchmarks_in_order() -> QuerySet[ExternalBenchmark]:
    return ExternalBenchmark.objects.annotate(row_count=Count("rows")).order_by("-report_on", "name", "id")

