"""What the surveys app tells the layers above it without importing them (the architecture's layers).

``responses_changed`` is sent inside the transaction that created, changed or deleted a survey's responses, by
every path (keyed entry, import, online answers, the API, the admin). Receivers must defer real work until the
transaction commits (``transaction.on_commit``); the metrics app's receiver queues the survey's recompute.
"""

from django.dispatch import Signal

# kwargs: survey_id (int)
responses_changed = Signal()


def responses_changed_send(*, survey_id: int) -> None:
    responses_changed.send(sender=None, survey_id=survey_id)
