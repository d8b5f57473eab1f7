"""Writes of surveys and single responses (the importer is in ``surveys.importer``)."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction

from owners.models import Owner
from owners.stages import stage_as_of
from surveys.answers import encode_answers
from surveys.events import ResponseChange, response_state, responses_changed_send
from surveys.models import ImportJob, Question, Response, Survey
from surveys.questionnaires import QUESTIONNAIRES
from surveys.selectors import survey_questions


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
    questions = survey_questions(survey=survey)
    missing = [q.label for q in questions if q.required and scores.get(q.code) is None]
    if missing:
        raise ValidationError({"scores": f"必答题未回答：{'、'.join(missing)}"})
    answers = encode_answers([q.code for q in questions], scores)
    stage = stage_as_of(owner.move_in_date, surveyed_on)
    with transaction.atomic():
        response = Response.objects.select_for_update().filter(survey=survey, owner=owner).first()
        clash = Response.objects.filter(survey=survey, questionnaire_no=questionnaire_no)
        if response is not None:
            clash = clash.exclude(pk=response.pk)
        if clash.exists():
            raise ValidationError({"questionnaire_no": f"问卷编号“{questionnaire_no}”在本次调查中已被其他业主使用"})
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


def response_delete(*, response: Response) -> None:
    """Delete one response (its history keeps it); the survey's numbers follow."""
    with transaction.atomic():
        before = response_state(response)
        survey_id = response.survey_id
        response.delete()
        responses_changed_send(survey_id=survey_id, changes=[ResponseChange(before, None)])


def import_job_start(*, kind: str, survey: Survey | None, data: bytes, file_name: str, user) -> ImportJob:
    """Store an uploaded file as an ImportJob and queue its import once the transaction commits.

    Raises ValidationError (Chinese messages) when the upload is refused before parsing. See
    ``surveys.importing.jobs``.
    """
    from surveys.importing.jobs import import_job_start as start

    return start(kind=kind, survey=survey, data=data, file_name=file_name, user=user)
