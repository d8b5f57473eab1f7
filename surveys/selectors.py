"""Reads of surveys, questions and responses."""

from django.db.models import QuerySet

from surveys.models import Question, Response, Survey


def survey_questions(*, survey: Survey) -> list[Question]:
    """The survey's questions in answer-string order."""
    return list(Question.objects.filter(survey=survey).order_by("position"))


def survey_latest() -> Survey | None:
    """The most recent survey wave that is not a touch-point survey (falls back to any)."""
    surveys = Survey.objects.order_by("-starts_on", "-created_at", "-id")
    return surveys.exclude(source=Survey.Source.TOUCHPOINT).first() or surveys.first()


def surveys_in_order() -> QuerySet[Survey]:
    return Survey.objects.order_by("starts_on", "created_at", "id")


def response_for_owner(*, survey: Survey, owner_id: int) -> Response | None:
    return Response.objects.filter(survey=survey, owner_id=owner_id).first()
