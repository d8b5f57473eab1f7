"""The metrics app's answers to other apps' events: a survey's responses changed → record the change's counts
and queue the survey's update (``metrics_record_changes``)."""

from satisfaction.services import metrics_record_changes


def recompute_when_responses_change(sender, *, survey_id: int, changes=None, **kwargs) -> None:
    metrics_record_changes(survey_id=survey_id, changes=changes)
