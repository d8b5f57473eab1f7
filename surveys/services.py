"""Writes of surveys and single responses (the importer is in ``surveys.importer``)."""

from collections.abc import Iterable
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from owners.models import Owner
from owners.stages import stage_as_of
from surveys.answers import answer_codes, encode_answers
from surveys.events import ResponseChange, response_state, responses_changed_send
from surveys.importing.jobs import import_job_start  # noqa: F401  (a write of this app; lives with the job machinery)
from surveys.models import Question, Response, Survey
from surveys.questionnaires import QUESTIONNAIRES
from surveys.selectors import survey_answer_questions


@transaction.atomic
def survey_create(
    *,
    code: str,
    name: str,
    source: str = Survey.Source.COMPANY,
    questionnaire: str = "standard",
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Survey:
    """A survey wave with the questions of a named questionnaire."""
    if questionnaire not in QUESTIONNAIRES:
        raise ValidationError(f"未知问卷“{questionnaire}”，可选：{', '.join(QUESTIONNAIRES)}")
    if source not in Survey.Source.values:
        raise ValidationError(f"未知来源“{source}”，可选：{', '.join(Survey.Source.values)}")
    if Survey.objects.filter(code=code).exists():
        raise ValidationError(f"调查编码“{code}”已存在")
    survey = Survey(code=code, name=name, source=source, questionnaire=questionnaire, starts_on=starts_on, ends_on=ends_on)
    survey.full_clean()
    survey.save()
    Question.objects.bulk_create(
        Question(
            survey=survey,
            code=q.code,
            label=q.label,
            kind=q.kind,
            port=q.port,
            position=position,
            required=q.required,
        )
        for position, q in enumerate(QUESTIONNAIRES[questionnaire])
    )
    return survey


def response_check(*, survey: Survey, owner: Owner, questionnaire_no: str, scores: dict[str, int | None]) -> str:
    """The checks every write of one questionnaire passes, whatever its path (entry, API, admin); the answer string.

    Raises ValidationError keyed by field: ``scores`` when a required question is unanswered, ``questionnaire_no``
    when another owner's response in this survey has the number.
    """
    questions = survey_answer_questions(survey=survey)
    missing = [q.label for q in questions if q.required and scores.get(q.code) is None]
    if missing:
        raise ValidationError({"scores": f"必答题未回答：{'、'.join(missing)}"})
    clash = Response.objects.filter(survey=survey, questionnaire_no=questionnaire_no).exclude(owner=owner)
    if clash.exists():
        raise ValidationError({"questionnaire_no": f"问卷编号“{questionnaire_no}”在本次调查中已被其他业主使用"})
    return encode_answers(answer_codes(questions), scores)


def response_submit(
    *,
    survey: Survey,
    owner: Owner,
    questionnaire_no: str,
    surveyed_on: date,
    scores: dict[str, int | None],
    channel: str = "",
) -> tuple[Response, bool]:
    """Save one questionnaire: a new response, or the owner's existing one in this survey updated.

    Returns (response, created). The stage is frozen as of the survey date; the recompute is queued on commit.
    """
    stage = stage_as_of(owner.move_in_date, surveyed_on)
    with transaction.atomic():
        response = Response.objects.select_for_update().filter(survey=survey, owner=owner).first()
        answers = response_check(survey=survey, owner=owner, questionnaire_no=questionnaire_no, scores=scores)
        created = response is None
        before = None if created else response_state(response)
        if created:
            response = Response(survey=survey, owner=owner, project_id=owner.project_id)
        response.questionnaire_no = questionnaire_no
        response.surveyed_on = surveyed_on
        response.stage = stage
        response.channel = channel
        response.answers = answers
        response.project_id = owner.project_id
        response.full_clean(validate_unique=False)
        response.save()
        responses_changed_send(survey_id=survey.pk, changes=[ResponseChange(before, response_state(response))])
    return response, created


def responses_delete(*, responses: Iterable[Response]) -> int:
    """Delete responses (the admin's path): each leaves a deletion row in its history, and each survey that lost
    some tells the metrics, once, what they took away. Returns how many were deleted."""
    removed: dict[int, list[ResponseChange]] = {}
    with transaction.atomic():
        for response in responses:  # one by one, so that each deletion is recorded in the history
            removed.setdefault(response.survey_id, []).append(ResponseChange(response_state(response), None))
            response.delete()
        for survey_id, changes in sorted(removed.items()):
            responses_changed_send(survey_id=survey_id, changes=changes)
    return sum(len(changes) for changes in removed.values())

