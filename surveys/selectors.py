"""Reads of surveys, their series and questionnaires, questions and responses."""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from departments.selectors import user_has_any_role, user_may_enter_data, user_sees_company_wide
from owners.stages import STAGES, stage_label
from surveys.answers import answer_codes, answer_questions, decode_answers
from surveys.models import (
    Channel,
    ImportJob,
    Question,
    QuestionKind,
    Questionnaire,
    QuestionnaireItem,
    Response,
    ResponseComment,
    Survey,
    SurveySeries,
)


def survey_questions(*, survey: Survey) -> list[Question]:
    """The survey's questions in position order, scored and open comment ones (forms, templates, the import file)."""
    return list(Question.objects.filter(survey=survey).order_by("position"))


def survey_answer_questions(*, survey: Survey) -> list[Question]:
    """The survey's questions that the answer string covers, in its order (``surveys.answers.answer_questions``):
    every encoder and decoder of ``Response.answers`` takes its codes from here; open comments are not in it."""
    return answer_questions(survey_questions(survey=survey))


def survey_answer_codes(*, survey: Survey) -> list[str]:
    """The codes the answer string covers, in its order."""
    return answer_codes(survey_questions(survey=survey))


def survey_comment_questions(*, survey: Survey) -> list[Question]:
    """The survey's open comment questions in questionnaire order (their text is in ``ResponseComment``)."""
    return list(Question.objects.filter(survey=survey, kind=QuestionKind.COMMENT).order_by("position"))


def survey_year(survey: Survey) -> int:
    """The year a survey counts for (plan targets, follow-through): the year of its start date, else of its end
    date, else the (local) year it was created."""
    day = survey.starts_on or survey.ends_on
    return day.year if day else timezone.localtime(survey.created_at).year


def survey_has_responses(*, survey: Survey) -> bool:
    return Response.objects.filter(survey=survey).exists()


def _with_responses(surveys: QuerySet[Survey]) -> QuerySet[Survey]:
    return surveys.filter(Exists(Response.objects.filter(survey=OuterRef("pk"))))


def survey_latest() -> Survey | None:
    """The most recent wave with responses that is not a touch-point survey (falls back to any wave with
    responses): what home and the dashboards show by default. A wave nobody has answered yet never takes over."""
    surveys = _with_responses(Survey.objects.order_by(F("starts_on").desc(nulls_last=True), "-created_at", "-id"))
    return surveys.exclude(source=Survey.Source.TOUCHPOINT).first() or surveys.first()


def survey_period_start(survey: Survey) -> date:
    """The start of the wave's fieldwork, or the day it was created when it has no period: the order of waves
    within a series, and the day the sample frame's stages are taken at."""
    return survey.starts_on or survey.created_at.date()


def survey_order_key(survey: Survey) -> tuple:
    """Waves in the order of their period start (ties: creation order)."""
    return (survey_period_start(survey), survey.created_at, survey.pk)


def survey_default_date(*, survey: Survey, today: date) -> date:
    """The survey date keyed entry offers: today while the wave is in the field, else the nearest day of its
    period (never a day after today)."""
    day = today
    if survey.ends_on and day > survey.ends_on:
        day = survey.ends_on
    if survey.starts_on and day < survey.starts_on and survey.starts_on <= today:
        day = survey.starts_on
    return day


def survey_date_outside_period(*, survey: Survey, surveyed_on: date) -> bool:
    return bool(
        (survey.starts_on and surveyed_on < survey.starts_on) or (survey.ends_on and surveyed_on > survey.ends_on)
    )


# --- Series and questionnaires ----------------------------------------------------------------------------------


def series_in_order(*, active_only: bool = False) -> QuerySet[SurveySeries]:
    series = SurveySeries.objects.order_by("position", "code")
    return series.filter(is_active=True) if active_only else series


def series_default_for(*, source: str) -> SurveySeries | None:
    """The series a wave joins when none is named: the one coded like its source (DESIGN §4 ``create_survey``)."""
    return SurveySeries.objects.filter(code=source).first()


def questionnaire_latest(*, code: str) -> Questionnaire | None:
    """The newest version of a questionnaire."""
    return Questionnaire.objects.filter(code=code).order_by("-version").first()


def questionnaire_items(*, questionnaire: Questionnaire) -> list[QuestionnaireItem]:
    return list(QuestionnaireItem.objects.filter(questionnaire=questionnaire).order_by("position"))


def questionnaire_is_frozen(*, questionnaire: Questionnaire) -> bool:
    """A version that a wave with responses asks is frozen: its items may no longer change."""
    return Response.objects.filter(survey__questionnaire=questionnaire).exists()


def questionnaires_in_order() -> QuerySet[Questionnaire]:
    """Every version, each questionnaire's newest first, with how many waves use it and whether it is frozen."""
    from django.db.models import Count

    answered = Response.objects.filter(survey__questionnaire=OuterRef("pk"))
    return (
        Questionnaire.objects.select_related("based_on", "created_by")
        .annotate(
            wave_count=Count("surveys", distinct=True),
            item_count=Count("items", distinct=True),
            frozen=Exists(answered),
        )
        .order_by("code", "-version")
    )


def questionnaires_for_choice() -> QuerySet[Questionnaire]:
    """Versions a new wave may ask, newest version of each questionnaire first."""
    return Questionnaire.objects.order_by("code", "-version")


# --- Comments ---------------------------------------------------------------------------------------------------


def response_comments(*, response: Response) -> dict[str, str]:
    """{comment question code: text} of one response."""
    return dict(
        ResponseComment.objects.filter(response=response).order_by().values_list("question__code", "text")
    )


def survey_comments(*, survey: Survey, response_ids: list[int] | None = None) -> dict[int, dict[str, str]]:
    """{response id: {comment question code: text}} of a survey's responses (all, or these)."""
    rows = ResponseComment.objects.filter(response__survey=survey)
    if response_ids is not None:
        rows = rows.filter(response_id__in=response_ids)
    found: dict[int, dict[str, str]] = {}
    for response_id, code, text in rows.order_by().values_list("response_id", "question__code", "text"):
        found.setdefault(response_id, {})[code] = text
    return found


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
    entries += _comment_history(response=response)
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries


def _comment_history(*, response: Response) -> list[HistoryEntry]:
    """The response's open comments as history entries: each text written, changed or removed."""
    records = list(
        ResponseComment.history.filter(response_id=response.pk)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    if not records:
        return []
    labels = dict(Question.objects.filter(survey_id=response.survey_id).values_list("id", "label"))
    texts: dict[int, str] = {}
    entries = []
    for record in records:
        old = texts.get(record.question_id, "")
        new = "" if record.history_type == "-" else record.text
        texts[record.question_id] = new
        user = record.history_user
        entries.append(
            HistoryEntry(
                at=record.history_date,
                user=(user.get_full_name() or user.get_username()) if user else "",
                action=_ACTIONS.get(record.history_type, record.history_type) + "意见",
                reason=record.history_change_reason or "",
                changes=[FieldChange(labels.get(record.question_id, "开放意见"), old or "—", new or "—")],
            )
        )
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


# --- Raw questionnaires: browse and filter one wave's responses -------------------------------------------------


@dataclass(frozen=True)
class ResponseQuery:
    """What the raw-questionnaire page and the API filter a wave's responses by (blank = any)."""

    project_id: int | None = None
    stage: str = ""
    channel: str = ""
    item: str = ""  # a score question's code; with min_score / max_score (1–5, inclusive)
    min_score: int | None = None
    max_score: int | None = None
    comment: str = ""  # text contained in any of the response's comments


def responses_filter(queryset: QuerySet[Response], *, survey: Survey, query: ResponseQuery) -> QuerySet[Response]:
    """``queryset`` (a wave's responses) narrowed by ``query``. A score range reads the item's character of the
    answer string in the database (no row is decoded in Python); an unknown item raises ValueError."""
    from django.db.models.functions import Substr

    if query.project_id is not None:
        queryset = queryset.filter(project_id=query.project_id)
    if query.stage:
        queryset = queryset.filter(stage=query.stage)
    if query.channel:
        queryset = queryset.filter(channel=query.channel)
    if query.item and (query.min_score is not None or query.max_score is not None):
        codes = survey_answer_codes(survey=survey)
        if query.item not in codes:
            raise ValueError(query.item)
        low, high = query.min_score or 1, query.max_score or 5
        allowed = [str(score) for score in range(max(1, low), min(5, high) + 1)]
        queryset = queryset.annotate(_score=Substr("answers", codes.index(query.item) + 1, 1)).filter(
            _score__in=allowed
        )
    if query.comment:
        queryset = queryset.filter(
            Exists(ResponseComment.objects.filter(response=OuterRef("pk"), text__icontains=query.comment))
        )
    return queryset


def survey_responses(*, survey: Survey) -> QuerySet[Response]:
    """A wave's responses with their owner and project, in questionnaire-number order."""
    return (
        Response.objects.filter(survey=survey)
        .select_related("owner", "project")
        .order_by("questionnaire_no", "id")
    )


# --- Sample frame and response rate -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateCell:
    """Owners a wave targets in one project × stage cell (stage as of the period start), and how many answered."""

    project_id: int | None
    project_code: str
    project_name: str
    stage: str  # "" = every stage
    targeted: int
    answered: int

    @property
    def rate(self) -> float | None:
        return self.answered / self.targeted if self.targeted else None

    @property
    def stage_label(self) -> str:
        return stage_label(self.stage) if self.stage else ""


@dataclass
class ResponseRates:
    """A wave's sample frame against its responses: the whole frame, per project, per stage, per cell."""

    as_of: date
    total: RateCell
    projects: list[RateCell]
    stages: list[RateCell]
    cells: list[RateCell]
    outside_frame: int  # responses of owners the wave does not target (another project or stage, a later owner)


def survey_response_rates(*, survey: Survey) -> ResponseRates:
    """Owners targeted (the wave's projects — all when none chosen — and stages as of its period start, owners
    who had signed by then) against those of them who answered, per project and stage.

    Two grouped queries, by (project, move-in date): the stage rule runs once per distinct move-in date, not per
    owner. An owner counts in the cell of their stage as of the period start, whatever stage their response froze
    (a response given later may freeze a later stage), so that a rate never exceeds 100 %.
    """
    from django.db.models import Case, Count, IntegerField, Q, When

    from owners.models import Owner, Project
    from owners.stages import STAGES, stage_as_of

    as_of = survey_period_start(survey)
    target_ids = set(survey.target_projects.values_list("id", flat=True))
    stages = set(survey.target_stages or STAGES)
    eligible = Q(anonymised_at__isnull=True) & (Q(contract_date__isnull=True) | Q(contract_date__lte=as_of))
    owners = Owner.objects.filter(eligible)
    if target_ids:
        owners = owners.filter(project_id__in=target_ids)
    targeted: dict[tuple[int, str], int] = {}
    for project_id, move_in, n in owners.order_by().values_list("project_id", "move_in_date").annotate(n=Count("id")):
        stage = stage_as_of(move_in, as_of)
        if stage in stages:
            targeted[(project_id, stage)] = targeted.get((project_id, stage), 0) + n
    answered: dict[tuple[int, str], int] = {}
    outside = 0
    in_frame = Case(
        When(Q(owner__anonymised_at__isnull=True)
             & (Q(owner__contract_date__isnull=True) | Q(owner__contract_date__lte=as_of)), then=1),
        default=0,
        output_field=IntegerField(),
    )
    rows = (
        Response.objects.filter(survey=survey)
        .order_by()
        .values_list("owner__project_id", "owner__move_in_date")
        .annotate(eligible=in_frame, n=Count("id"))
    )
    for project_id, move_in, is_eligible, n in rows:
        stage = stage_as_of(move_in, as_of)
        if is_eligible and (not target_ids or project_id in target_ids) and stage in stages:
            answered[(project_id, stage)] = answered.get((project_id, stage), 0) + n
        else:
            outside += n
    project_ids = {project_id for project_id, _ in targeted} | {project_id for project_id, _ in answered}
    projects = {p.pk: p for p in Project.objects.filter(pk__in=project_ids).only("id", "code", "name")}
    ordered_projects = sorted(projects.values(), key=lambda p: p.code)

    def cell(project, stage, keys) -> RateCell:
        return RateCell(
            project.pk if project else None, project.code if project else "", project.name if project else "",
            stage, sum(targeted.get(k, 0) for k in keys), sum(answered.get(k, 0) for k in keys),
        )  # fmt: skip

    every = [(p.pk, s) for p in ordered_projects for s in STAGES]
    return ResponseRates(
        as_of=as_of,
        total=cell(None, "", every),
        projects=[cell(p, "", [(p.pk, s) for s in STAGES]) for p in ordered_projects],
        stages=[cell(None, s, [(p.pk, s) for p in ordered_projects]) for s in STAGES if s in stages],
        cells=[
            cell(p, s, [(p.pk, s)])
            for p in ordered_projects
            for s in STAGES
            if (p.pk, s) in targeted or (p.pk, s) in answered
        ],
        outside_frame=outside,
    )
