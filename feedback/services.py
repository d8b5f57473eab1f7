"""Writes of the research bases (procedure §5.2): feedback records, callbacks and external survey reports."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from core import text_limits
from departments.ports import PORTS
from feedback.events import feedback_changed_send
from feedback.models import (
    Callback,
    CallbackOutcome,
    CallbackRule,
    ExternalBenchmark,
    ExternalBenchmarkRow,
    Feedback,
    FeedbackKind,
    FeedbackSeverity,
    FeedbackStatus,
)
from owners.models import Owner, Project
from owners.stages import STAGES
from surveys.models import Survey

CALLBACK_HEADLINE_CODES = ("overall", "repurchase", "recommend")
# The touch-point series the callbacks' surveys continue (seeded by surveys' migration 0007).
CALLBACK_SERIES = "callback"


def feedback_validate(
    *,
    kind: str,
    project: Project | None,
    port: str,
    received_on: date | None,
    description: str,
    severity: str,
    status: str,
    closed_on: date | None,
    owner: Owner | None,
    today: date | None = None,
) -> dict[str, str]:
    """Every reason this feedback cannot be saved, by field (Chinese messages); empty when it can."""
    errors: dict[str, str] = {}
    if kind not in FeedbackKind.values:
        errors["kind"] = "请选择反馈类型"
    if project is None:
        errors["project"] = "请选择楼盘"
    if port not in PORTS:
        errors["port"] = "请选择责任端口"
    if received_on is None:
        errors["received_on"] = "请填写受理日期"
    elif today is not None and received_on > today:
        errors["received_on"] = "受理日期不能晚于今天"
    if not (description or "").strip():
        errors["description"] = "请填写反馈内容"
    elif len(description) > text_limits.TEXT:
        errors["description"] = f"反馈内容过长：最多 {text_limits.TEXT} 个字符"
    if severity not in FeedbackSeverity.values:
        errors["severity"] = "请选择严重程度"
    if status not in FeedbackStatus.values:
        errors["status"] = "请选择处理状态"
    if status == FeedbackStatus.CLOSED and closed_on is None:
        errors["closed_on"] = "已关闭的反馈必须填写关闭日期"
    elif closed_on is not None and status != FeedbackStatus.CLOSED:
        errors["closed_on"] = "未关闭的反馈不能填写关闭日期"
    elif closed_on is not None and received_on is not None and closed_on < received_on:
        errors["closed_on"] = "关闭日期不能早于受理日期"
    if owner is not None and project is not None and owner.project_id != project.pk:
        errors["owner"] = "该业主不属于所选楼盘"
    return errors


def _feedback_fields(
    *,
    kind: str,
    project: Project,
    port: str,
    received_on: date,
    description: str,
    severity: str = FeedbackSeverity.NORMAL,
    status: str = FeedbackStatus.OPEN,
    closed_on: date | None = None,
    owner: Owner | None = None,
    unit: str = "",
    reference: str = "",
    today: date | None = None,
) -> dict:
    errors = feedback_validate(
        kind=kind,
        project=project,
        port=port,
        received_on=received_on,
        description=description,
        severity=severity,
        status=status,
        closed_on=closed_on,
        owner=owner,
        today=today,
    )
    if errors:
        raise ValidationError(errors)
    return {
        "kind": kind,
        "project": project,
        "port": port,
        "received_on": received_on,
        "description": description.strip(),
        "severity": severity,
        "status": status,
        "closed_on": closed_on,
        "owner": owner,
        # A record about a known owner carries the owner's unit, so lists read the same whichever way it was entered.
        "unit": (unit or (owner.unit if owner else "")).strip(),
        "reference": reference.strip(),
    }


@transaction.atomic
def feedback_create(*, created_by=None, **fields) -> Feedback:
    """Record one piece of feedback (fields as ``feedback_validate``; ``unit``, ``reference`` optional)."""
    feedback = Feedback(created_by=created_by, **_feedback_fields(**fields))
    feedback.full_clean()
    feedback.save()
    feedback_changed_send(feedback_ids=[feedback.pk])
    return feedback


@transaction.atomic
def feedback_update(*, feedback: Feedback, **fields) -> Feedback:
    """Change a feedback record (its history keeps the previous version)."""
    values = _feedback_fields(**fields)
    changed = [name for name, value in values.items() if getattr(feedback, name) != value]
    if changed:
        for name in changed:
            setattr(feedback, name, values[name])
        feedback.full_clean()
        feedback.save(update_fields=[*changed, "updated_at"])
        feedback_changed_send(feedback_ids=[feedback.pk])
    return feedback


def callback_survey_for(*, year: int) -> Survey:
    """The year's touch-point survey that callbacks' headline scores go into; created on first use."""
    from surveys.services import survey_create

    code = f"callback-{year}"
    survey = Survey.objects.filter(code=code).first()
    if survey is None:
        survey = survey_create(
            code=code,
            name=f"{year}年回访触点调查",
            source=Survey.Source.TOUCHPOINT,
            series=CALLBACK_SERIES,
            questionnaire="headline",
            starts_on=date(year, 1, 1),
            ends_on=date(year, 12, 31),
        )
    return survey


@transaction.atomic
def callback_record(
    *,
    owner: Owner,
    called_on: date,
    outcome: str,
    rule: CallbackRule | None = None,
    due_on: date | None = None,
    notes: str = "",
    scores: dict[str, int | None] | None = None,
    issue_port: str = "",
    issue_description: str = "",
    called_by=None,
    today: date | None = None,
) -> Callback:
    """Record one callback. If reached and scored, its headline items become a touch-point response (metrics
    included); an issue raised on the call becomes a feedback record of kind 回访."""
    from surveys.services import response_submit

    errors: dict[str, str] = {}
    if outcome not in CallbackOutcome.values:
        errors["outcome"] = "请选择回访结果"
    if today is not None and called_on > today:
        errors["called_on"] = "回访日期不能晚于今天"
    given = {code: value for code, value in (scores or {}).items() if value is not None}
    if given and outcome != CallbackOutcome.REACHED:
        errors["scores"] = "只有已接通的回访才能记录评分"
    elif given and len(given) < len(CALLBACK_HEADLINE_CODES):
        errors["scores"] = "记录评分时，总体满意度、再次购买意愿、推荐意愿三项都要填写"
    if bool(issue_port) != bool(issue_description.strip()):
        errors["issue_description" if issue_port else "issue_port"] = "记录回访中发现的问题时，端口和问题描述都要填写"
    if errors:
        raise ValidationError(errors)
    response = None
    if given:
        survey = callback_survey_for(year=called_on.year)
        try:
            response, _created = response_submit(
                survey=survey,
                owner=owner,
                # One response per owner per touch-point survey: a later call the same year replaces the scores.
                questionnaire_no=f"CB-{owner.pk}",
                surveyed_on=called_on,
                scores={code: given.get(code) for code in CALLBACK_HEADLINE_CODES},
                channel="phone",
            )
        except ValidationError as exc:
            # A closed callback survey refuses the scores: say so beside them.
            raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"scores": exc.messages}) from None
    callback = Callback(
        owner=owner,
        rule=rule,
        due_on=due_on,
        called_on=called_on,
        outcome=outcome,
        notes=notes.strip(),
        response=response,
        called_by=called_by,
    )
    callback.full_clean()
    callback.save()
    if issue_port:
        feedback_create(
            kind=FeedbackKind.CALLBACK,
            project=owner.project,
            owner=owner,
            port=issue_port,
            received_on=called_on,
            description=issue_description,
            created_by=called_by,
        )
    return callback


def benchmark_row_validate(
    *, port: str, stage: str, sample_size: int | None, satisfaction_rate: float | None, loyalty_rate: float | None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if port and port not in PORTS:
        errors["port"] = "未知端口"
    if stage and stage not in STAGES:
        errors["stage"] = "未知业主阶段"
    if sample_size is None or sample_size <= 0:
        errors["sample_size"] = "样本量必须是正整数"
    if satisfaction_rate is None or not 0 <= satisfaction_rate <= 1:
        errors["satisfaction_rate"] = "满意度必须在 0%–100% 之间"
    if loyalty_rate is not None and not 0 <= loyalty_rate <= 1:
        errors["loyalty_rate"] = "忠诚度必须在 0%–100% 之间"
    if loyalty_rate is not None and port:
        errors["loyalty_rate"] = "忠诚度只对核心指标（不选端口）适用"
    return errors


@transaction.atomic
def benchmark_create(
    *, name: str, source: str, report_on: date, notes: str = "", rows: list[dict] = (), created_by=None
) -> ExternalBenchmark:
    """A named external report with its rows (each: project, port, stage, sample_size, satisfaction_rate, loyalty_rate)."""
    errors = {}
    if not name.strip():
        errors["name"] = "请填写报告名称"
    if not source.strip():
        errors["source"] = "请填写报告来源"
    if ExternalBenchmark.objects.filter(name=name.strip(), report_on=report_on).exists():
        errors["name"] = "同名同日期的外部调查报告已存在"
    if errors:
        raise ValidationError(errors)
    benchmark = ExternalBenchmark.objects.create(
        name=name.strip(), source=source.strip(), report_on=report_on, notes=notes.strip(), created_by=created_by
    )
    for row in rows:
        benchmark_row_add(benchmark=benchmark, **row)
    return benchmark


@transaction.atomic
def benchmark_row_add(
    *,
    benchmark: ExternalBenchmark,
    project: Project | None = None,
    port: str = "",
    stage: str = "",
    sample_size: int,
    satisfaction_rate: float,
    loyalty_rate: float | None = None,
) -> ExternalBenchmarkRow:
    errors = benchmark_row_validate(
        port=port, stage=stage, sample_size=sample_size, satisfaction_rate=satisfaction_rate, loyalty_rate=loyalty_rate
    )
    if ExternalBenchmarkRow.objects.filter(benchmark=benchmark, project=project, port=port, stage=stage).exists():
        errors["__all__"] = "本报告已有同一楼盘、端口、阶段的结果"
    if errors:
        raise ValidationError(errors)
    return ExternalBenchmarkRow.objects.create(
        benchmark=benchmark,
        project=project,
        port=port,
        stage=stage,
        sample_size=sample_size,
        satisfaction_rate=satisfaction_rate,
        loyalty_rate=loyalty_rate,
    )
