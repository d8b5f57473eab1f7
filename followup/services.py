"""Writes of the follow-up tickets: alerts → tickets, feedback → tickets, assign, notes, status, escalation.

Every function takes ``now`` (the clock stays at the edge); the alert run is idempotent: one ticket per response,
rule and port, so re-running it, re-importing a file or re-saving a response opens nothing new.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core import text_limits
from departments.models import Port
from feedback.models import Feedback, FeedbackStatus
from followup import notices
from followup.models import (
    CLOCK_STATUSES,
    AlertRule,
    Escalation,
    PortSla,
    RuleKind,
    Ticket,
    TicketNote,
    TicketSource,
    TicketStatus,
)
from followup.rules import Alert, QuestionSpec, RuleSpec, alerts_for_response
from followup.selectors import ticket_assignable_users, user_may_work_ticket
from surveys.answers import decode_answers
from surveys.models import Response, ResponseComment, Survey
from surveys.selectors import survey_answer_questions, survey_comment_questions

DEFAULT_DUE_HOURS = 48
DEFAULT_MANAGEMENT_AFTER_HOURS = 24
# Candidate responses read per round trip (ids in one IN list: well under SQLite's variable limit).
CANDIDATE_BATCH = 2000

# Who may move a ticket from which status to which (a reason is required for 无法解决).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    TicketStatus.NEW: (TicketStatus.IN_PROGRESS, TicketStatus.UNRESOLVED),
    TicketStatus.IN_PROGRESS: (TicketStatus.CALLED_BACK, TicketStatus.UNRESOLVED),
    TicketStatus.CALLED_BACK: (TicketStatus.CLOSED, TicketStatus.IN_PROGRESS, TicketStatus.UNRESOLVED),
    TicketStatus.CLOSED: (),
    TicketStatus.UNRESOLVED: (),
}


# --- SLA -----------------------------------------------------------------------------------------------------------


def port_sla(port: str) -> tuple[int, int]:
    """(hours until due, hours after due until management hears) for a port; the defaults when none is set."""
    sla = PortSla.objects.filter(port=port).first()
    if sla is None:
        return DEFAULT_DUE_HOURS, DEFAULT_MANAGEMENT_AFTER_HOURS
    return sla.due_hours, sla.management_after_hours


def port_sla_set(*, port: str, due_hours: int, management_after_hours: int) -> PortSla:
    errors = {}
    if due_hours is None or due_hours < 1:
        errors["due_hours"] = "处理时限至少 1 小时"
    if management_after_hours is None or management_after_hours < 0:
        errors["management_after_hours"] = "升级时间不能为负数"
    if errors:
        raise ValidationError(errors)
    sla, _created = PortSla.objects.update_or_create(
        port=port, defaults={"due_hours": due_hours, "management_after_hours": management_after_hours}
    )
    return sla


# --- Opening tickets -------------------------------------------------------------------------------------------------


def _responsible_department(port: str):
    return Port.objects.select_related("owner").get(code=port).owner


def rules_for_survey(*, survey: Survey) -> list[AlertRule]:
    """The active rules that apply to a wave: its own, its series', and those for every survey."""
    return list(
        AlertRule.objects.filter(is_active=True)
        .filter(Q(survey=survey) | Q(survey__isnull=True, series_id=survey.series_id)
                | Q(survey__isnull=True, series__isnull=True))
        .order_by("id")
    )


def _low_score_pattern(positions: Sequence[int], threshold: int) -> str:
    """A regex on the answer string: some character at one of these positions is 1…threshold."""
    return "^(?:" + "|".join(f".{{{p}}}[1-{threshold}]" for p in sorted(positions)) + ")"


def _survey_rules(survey: Survey):
    rules = rules_for_survey(survey=survey)
    answer_questions = survey_answer_questions(survey=survey)
    comment_questions = survey_comment_questions(survey=survey)
    rule_specs = [RuleSpec(r.pk, r.kind, r.threshold, tuple(r.keyword_list()), r.port) for r in rules]
    score_rules = [r for r in rule_specs if r.kind in (RuleKind.HEADLINE_LOW, RuleKind.PORT_LOW)]
    kinds = {RuleKind.HEADLINE_LOW: "headline", RuleKind.PORT_LOW: "port"}
    watched = {i for i, q in enumerate(answer_questions) for r in score_rules if q.kind == kinds[r.kind]}
    pattern = _low_score_pattern(watched, max(r.threshold for r in score_rules)) if watched else None
    words = sorted({w for r in rule_specs if r.kind == RuleKind.KEYWORD for w in r.keywords}) if comment_questions else []
    return rule_specs, answer_questions, comment_questions, pattern, words


def alert_watch(*, survey_id: int) -> tuple[str | None, bool]:
    """What the survey's rules look at: the regex an answer string must match to be worth reading (None: no score
    rule), and whether comments are read (a keyword rule and a comment question). The receiver uses it to send the
    task only the low answers of a change, and nothing when nothing can match."""
    survey = Survey.objects.get(pk=survey_id)
    _specs, _answers, _comments, pattern, words = _survey_rules(survey)
    return pattern, bool(words)


def alerts_run(
    *,
    survey_id: int,
    changed: Iterable[tuple[int, str]] | None = None,
    updated_since: datetime | None = None,
    now: datetime,
) -> list[Ticket]:
    """Open the tickets the rules call for among a survey's responses (none twice); returns the new ones.

    ``changed``: the (project id, answer string) of the responses that just changed, as ``responses_changed``
    tells them; only responses with one of those pairs are read for the score rules (a superset of the changed
    ones). None: read every low-scoring response of the survey (``updated_since``: only those changed since).
    Keyword rules read the comments that hold a keyword.
    """
    survey = Survey.objects.select_related("series").get(pk=survey_id)
    rule_specs, answer_questions, comment_questions, pattern, words = _survey_rules(survey)
    if not rule_specs:
        return []
    specs = [QuestionSpec(q.code, q.label, q.kind, q.port) for q in [*answer_questions, *comment_questions]]
    codes = [q.code for q in answer_questions]

    candidates: set[int] = set()
    if pattern is not None:
        qs = Response.objects.filter(survey_id=survey_id, answers__regex=pattern)
        if updated_since is not None:
            qs = qs.filter(updated_at__gte=updated_since)
        if changed is not None:
            pairs = {(int(p), a) for p, a in changed if re.match(pattern, a)}
            if not pairs:
                qs = qs.none()
            else:
                qs = qs.filter(project_id__in={p for p, _a in pairs}, answers__in={a for _p, a in pairs})
        candidates |= set(qs.values_list("id", flat=True))
    if words:
        condition = Q()
        for word in words:
            condition |= Q(text__contains=word)
        comments_qs = ResponseComment.objects.filter(response__survey_id=survey_id).filter(condition)
        if updated_since is not None:
            comments_qs = comments_qs.filter(response__updated_at__gte=updated_since)
        candidates |= set(comments_qs.values_list("response_id", flat=True))
    if not candidates:
        return []

    kind_of = {r.id: r.kind for r in rule_specs}
    new: list[Ticket] = []
    departments: dict[str, object] = {}
    due_hours: dict[str, int] = {}
    ordered = sorted(candidates)
    for start in range(0, len(ordered), CANDIDATE_BATCH):
        batch = ordered[start:start + CANDIDATE_BATCH]
        existing: dict[int, set[tuple[int, str]]] = {}
        for response_id, rule_id, port in Ticket.objects.filter(response_id__in=batch).values_list(
            "response_id", "rule_id", "port"
        ):
            existing.setdefault(response_id, set()).add((rule_id, port))
        comments: dict[int, dict[str, str]] = {}
        for response_id, code, text in ResponseComment.objects.filter(response_id__in=batch).values_list(
            "response_id", "question__code", "text"
        ):
            comments.setdefault(response_id, {})[code] = text
        for response in Response.objects.filter(pk__in=batch).select_related("owner").order_by("id"):
            alerts = alerts_for_response(
                rules=rule_specs, questions=specs, scores=decode_answers(codes, response.answers),
                comments=comments.get(response.pk, {}),
            )
            seen = existing.get(response.pk, set())
            for alert in alerts:
                if _already(alert, seen, kind_of):
                    continue
                if alert.port not in departments:
                    departments[alert.port] = _responsible_department(alert.port)
                    due_hours[alert.port] = port_sla(alert.port)[0]
                new.append(Ticket(
                    source=TicketSource.ALERT, port=alert.port, department=departments[alert.port],
                    project_id=response.project_id, owner=response.owner, response=response, rule_id=alert.rule_id,
                    summary=alert.summary[:255], opened_at=now, due_at=now + timedelta(hours=due_hours[alert.port]),
                ))
                seen.add((alert.rule_id, alert.port))
    opened = _tickets_insert(new)
    if opened:
        notices.tickets_opened_on_commit(ticket_ids=[t.pk for t in opened])
    return opened


def _tickets_insert(tickets: list[Ticket]) -> list[Ticket]:
    """Insert the new tickets in batches (with their history rows); if a concurrent run opened some of them
    first (the unique constraint), insert one by one and leave those out."""
    if not tickets:
        return []
    try:
        with transaction.atomic():
            return bulk_create_with_history(tickets, Ticket, batch_size=500)
    except IntegrityError:
        pass
    opened = []
    for ticket in tickets:
        try:
            with transaction.atomic():
                ticket.pk = None
                ticket.save()
                opened.append(ticket)
        except IntegrityError:
            continue
    return opened


def _already(alert: Alert, seen: set[tuple[int, str]], kind_of: dict[int, str]) -> bool:
    # A port rule opens one ticket per port; the others one per response, wherever the first one went.
    if kind_of[alert.rule_id] == RuleKind.PORT_LOW:
        return (alert.rule_id, alert.port) in seen
    return any(rule_id == alert.rule_id for rule_id, _port in seen)


def _feedback_summary(feedback: Feedback) -> str:
    return f"{feedback.get_kind_display()}：{feedback.description}"[:255]


def tickets_sync_feedback(*, feedback_ids: Sequence[int], now: datetime) -> list[Ticket]:
    """Keep one ticket per feedback record: open it for a record that is not closed, follow a changed port, project
    or owner, and close it when the record is closed elsewhere. Returns the tickets opened."""
    new: list[Ticket] = []
    departments: dict[str, object] = {}
    due_hours: dict[str, int] = {}
    tickets = {t.feedback_id: t for t in Ticket.objects.filter(feedback_id__in=feedback_ids)}
    for feedback in Feedback.objects.filter(pk__in=feedback_ids).order_by("id"):
        ticket = tickets.get(feedback.pk)
        if ticket is None:
            if feedback.status == FeedbackStatus.CLOSED:
                continue
            if feedback.port not in departments:
                departments[feedback.port] = _responsible_department(feedback.port)
                due_hours[feedback.port] = port_sla(feedback.port)[0]
            new.append(Ticket(
                source=TicketSource.FEEDBACK, port=feedback.port, department=departments[feedback.port],
                project_id=feedback.project_id, owner_id=feedback.owner_id, feedback=feedback,
                summary=_feedback_summary(feedback), opened_at=now,
                due_at=now + timedelta(hours=due_hours[feedback.port]),
            ))
            continue
        changed = []
        if ticket.port != feedback.port:
            ticket.port = feedback.port
            ticket.department = _responsible_department(feedback.port)
            changed += ["port", "department"]
            if ticket.assignee_id is not None:  # the assignee belonged to the previous department
                ticket.assignee = None
                changed.append("assignee")
        for name in ("project_id", "owner_id"):
            if getattr(ticket, name) != getattr(feedback, name):
                setattr(ticket, name, getattr(feedback, name))
                changed.append(name.removesuffix("_id"))
        if ticket.summary != _feedback_summary(feedback):
            ticket.summary = _feedback_summary(feedback)
            changed.append("summary")
        if feedback.status == FeedbackStatus.CLOSED and ticket.is_open:
            ticket.status = TicketStatus.CLOSED
            ticket.closed_at = now
            changed += ["status", "closed_at"]
        if changed:
            ticket.save(update_fields=changed)
    opened = _tickets_insert(new)
    if opened:
        notices.tickets_opened_on_commit(ticket_ids=[t.pk for t in opened])
    return opened


# --- Working a ticket ---------------------------------------------------------------------------------------------------


def _require_worker(user, ticket: Ticket) -> None:
    if not user_may_work_ticket(user, ticket):
        raise PermissionDenied("只有责任部门、处理人或品牌客服专员可以处理此工单")


@transaction.atomic
def ticket_assign(*, ticket: Ticket, assignee, by, now: datetime) -> Ticket:
    """Give the ticket to a member of the responsible department; a new ticket is then being worked (处理中)."""
    _require_worker(by, ticket)
    if not ticket.is_open:
        raise ValidationError({"assignee": "工单已结束，不能再分派"})
    if assignee is None or not ticket_assignable_users(ticket=ticket).filter(pk=assignee.pk).exists():
        raise ValidationError({"assignee": "请选择责任部门的成员"})
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    fields = ["assignee"]
    ticket.assignee = assignee
    if ticket.status == TicketStatus.NEW:
        ticket.status = TicketStatus.IN_PROGRESS
        fields.append("status")
    ticket._change_reason = f"分派给 {assignee.get_full_name() or assignee.get_username()}"
    ticket.save(update_fields=fields)
    _follow_feedback(ticket, now=now)
    if assignee != by:
        notices.ticket_assigned_on_commit(ticket_id=ticket.pk)
    return ticket


def ticket_note_add(*, ticket: Ticket, text: str, by, now: datetime) -> TicketNote:
    _require_worker(by, ticket)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "请填写跟进记录"})
    if len(text) > text_limits.NOTE:
        raise ValidationError({"text": f"跟进记录过长：最多 {text_limits.NOTE} 个字符"})
    return TicketNote.objects.create(ticket=ticket, author=by, text=text, created_at=now)


@transaction.atomic
def ticket_transition(*, ticket: Ticket, status: str, by, now: datetime, reason: str = "") -> Ticket:
    """Move the ticket along 新建 → 处理中 → 已回访 → 关闭, or to 无法解决 with a reason."""
    _require_worker(by, ticket)
    ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if status not in TRANSITIONS.get(ticket.status, ()):
        label = TicketStatus(status).label if status in TicketStatus.values else status
        raise ValidationError({"status": f"工单当前为“{ticket.get_status_display()}”，不能改为“{label}”"})
    reason = (reason or "").strip()
    if status == TicketStatus.UNRESOLVED and not reason:
        raise ValidationError({"reason": "标记为无法解决时必须填写原因"})
    if len(reason) > text_limits.NOTE:
        raise ValidationError({"reason": f"原因过长：最多 {text_limits.NOTE} 个字符"})
    fields = ["status"]
    ticket.status = status
    if status == TicketStatus.UNRESOLVED:
        ticket.unresolved_reason = reason
        fields.append("unresolved_reason")
    if status in (TicketStatus.CLOSED, TicketStatus.UNRESOLVED):
        ticket.closed_at = now
        fields.append("closed_at")
    ticket.save(update_fields=fields)
    if reason:
        TicketNote.objects.create(ticket=ticket, author=by, text=f"无法解决：{reason}", created_at=now)
    _follow_feedback(ticket, now=now)
    return ticket


def _follow_feedback(ticket: Ticket, *, now: datetime) -> None:
    """A ticket worked on moves its feedback record along: 处理中 while open, 已关闭 when it ends."""
    if ticket.feedback_id is None:
        return
    from feedback.services import feedback_update

    feedback = Feedback.objects.get(pk=ticket.feedback_id)
    wanted = FeedbackStatus.IN_PROGRESS if ticket.is_open and ticket.status != TicketStatus.NEW else None
    if not ticket.is_open:
        wanted = FeedbackStatus.CLOSED
    if wanted is None or feedback.status == wanted:
        return
    closed_on = max(timezone.localdate(now), feedback.received_on) if wanted == FeedbackStatus.CLOSED else None
    feedback_update(
        feedback=feedback, kind=feedback.kind, project=feedback.project, port=feedback.port,
        received_on=feedback.received_on, description=feedback.description, severity=feedback.severity,
        status=wanted, closed_on=closed_on, owner=feedback.owner, unit=feedback.unit, reference=feedback.reference,
    )


# --- The SLA clock --------------------------------------------------------------------------------------------------------


def tickets_escalate(*, now: datetime) -> dict[str, list[int]]:
    """Overdue tickets still unanswered (新建/处理中) go to the department head; those still so
    ``management_after_hours`` later go to management. Each step happens once; returns the ids moved per step."""
    moved: dict[str, list[int]] = {"head": [], "management": []}
    slas = {sla.port: sla.management_after_hours for sla in PortSla.objects.all()}
    with transaction.atomic():
        overdue = Ticket.objects.select_for_update().filter(
            status__in=CLOCK_STATUSES, due_at__lt=now, escalation__lt=Escalation.MANAGEMENT
        ).order_by("id")
        for ticket in overdue:
            after = timedelta(hours=slas.get(ticket.port, DEFAULT_MANAGEMENT_AFTER_HOURS))
            if ticket.escalation == Escalation.NONE:
                ticket.escalation = Escalation.HEAD
                step = "head"
            elif now > ticket.due_at + after:
                ticket.escalation = Escalation.MANAGEMENT
                step = "management"
            else:
                continue
            ticket.escalated_at = now
            ticket._change_reason = "逾期升级"
            ticket.save(update_fields=["escalation", "escalated_at"])
            moved[step].append(ticket.pk)
        if moved["head"] or moved["management"]:
            notices.tickets_escalated_on_commit(head_ids=moved["head"], management_ids=moved["management"])
    return moved
