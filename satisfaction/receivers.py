"""The metrics app's answers to other apps' events: a survey's responses changed → queue its recompute."""

from satisfaction.services import metrics_request_recompute


def recompute_when_responses_change(sender, *, survey_id: int, **kwargs) -> None:
    metrics_request_recompute(survey_id=survey_id)
