"""Reads of surveys, questions and responses."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from departments.selectors import user_has_any_role, user_may_enter_data, user_sees_company_wide
from owners.stages import STAGES, stage_label
from surveys.answers import answer_codes, answer_questions, decode_answers
from surveys.models import Channel, ImportJob, Question, Response, Survey


def survey_questions(*, survey: Survey) -> list[Question]:
    """The survey's questions in position order."""
    return list(Question.objects.filter(survey=survey).order_by("position"))


def survey_answer_questions(*, survey: Survey) -> list[Question]:
    """The survey's questions that the answer string covers, in its order (``surveys.answers.answer_questions``)."""
    return answer_questions(survey_questions(survey=survey))


def survey_year(survey: Survey) -> int:
    """The year a survey counts for (plan targets, follow-through): the year of its start date, else of its end
    date, else the (local) year it was created."""
    day = survey.starts_on or survey.ends_on
    return day.year if day else timezone.localtime(survey.created_at).year


def survey_latest() -> Survey | None:
    """The most recent survey wave that is not a touch-point survey (falls back to any)."""
    surveys = Survey.objects.order_by("-starts_on", "-created_at", "-id")
    return surveys.exclude(source=Survey.Source.TOUCHPOINT).first() or surveys.first()


def surveys_in_order() -> QuerySet[Survey]:
    return Survey.objects.order_by("starts_on", "created_at", "id")


def response_for_owner(*, survey: Survey, owner_id: int) -> Response | None:
    return Response.objects.filter(survey=survey, owner_id=owner_id).first()


# --- Data-in pages (entry form, import history) ---------------------------------------------------------------


def surveys_for_entry() -> QuerySet[Survey]:
    """Surveys to key in or import into, newest first."""
    return Survey.objects.order_by("-starts_on", "-created_at", "-id")


def owners_with_response(*, survey: Survey, owner_ids: list[int]) -> set[int]:
    """Which of these owners already have a response in the survey (the entry form opens it for editing)."""
    return set(Response.objects.filter(survey=survey, owner_id__in=owner_ids).values_list("owner_id", flat=True))


def import_jobs_recent() -> QuerySet[ImportJob]:
    return ImportJob.objects.select_related("survey", "created_by").order_by("-created_at", "-id")


@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    user: str
    action: str
    reason: str
    changes: list[FieldChange] = field(default_factory=list)


_HISTORY_FIELDS = (
    ("questionnaire_no", "问卷编号"),
    ("surveyed_on", "调查日期"),
    ("channel", "调查方式"),
    ("stage", "业主阶段"),
)
_ACTIONS = {"+": "新增", "~": "修改", "-": "删除"}


def _display(name: str, value) -> str:
    if value in (None, ""):
        return "—"
    if name == "stage":
        return stage_label(value) if value in STAGES else str(value)
    if name == "channel":
        return str(Channel(value).label) if value in Channel.values else str(value)
    return str(value)


def _score(score: int | None) -> str:
    return "不适用" if score is None else str(score)


def response_history(*, response: Response) -> list[HistoryEntry]:
    """Who changed the response when, and what: field by field, and score by score (answers decoded), newest first."""
    questions = survey_answer_questions(survey=response.survey)
    codes = answer_codes(questions)
    labels = {q.code: q.label for q in questions}
    records = list(response.history.select_related("history_user").order_by("history_date", "history_id"))
    entries = []
    previous = None
    for record in records:
        changes = []
        if previous is not None:
            for name, label in _HISTORY_FIELDS:
                old, new = getattr(previous, name), getattr(record, name)
                if old != new:
                    changes.append(FieldChange(label, _display(name, old), _display(name, new)))
            old_scores = decode_answers(codes, previous.answers)
            new_scores = decode_answers(codes, record.answers)
            for code in codes:
                if old_scores[code] != new_scores[code]:
                    changes.append(FieldChange(labels[code], _score(old_scores[code]), _score(new_scores[code])))
        user = record.history_user
        entries.append(
            HistoryEntry(
                at=record.history_date,
                user=(user.get_full_name() or user.get_username()) if user else "",
                action=_ACTIONS.get(record.history_type, record.history_type),
                reason=record.history_change_reason or "",
                changes=changes,
            )
        )
        previous = record
    entries.reverse()
    return entries


# --- Scope: who may see surveys, questions, responses and imports ---------------------------------------------
#
# Surveys and questions are not personal data: every user with a role sees them. Raw responses (scores, owner by
# id only) are seen by company-wide roles; a department head works from the dashboards of the ports they may see.


def user_may_see_responses(user) -> bool:
    return user_sees_company_wide(user)


def surveys_visible_to(user):
    if not user_has_any_role(user):
        return Survey.objects.none()
    return Survey.objects.order_by("-starts_on", "-created_at", "-id")


def questions_visible_to(user):
    if not user_has_any_role(user):
        return Question.objects.none()
    return Question.objects.select_related("survey").order_by("survey_id", "position")


def responses_visible_to(user):
    if not user_may_see_responses(user):
        return Response.objects.none()
    return Response.objects.select_related("survey", "project", "owner").order_by("survey_id", "questionnaire_no", "id")


def imports_visible_to(user):
    if not user_may_enter_data(user):
        return ImportJob.objects.none()
    return ImportJob.objects.select_related("survey", "created_by").order_by("-created_at", "-id")
