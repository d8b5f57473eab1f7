"""What the metrics app tells the layers above it (dashboards) without importing them.

``metrics_changed`` is sent inside the transaction that changed what readers show of a survey: its snapshot rows
or its fill state (a run requested, started, finished or failed). Receivers may only write their own bookkeeping
in that transaction (the dashboards move their cache version). ``metrics_written`` is sent after a run's
snapshots were committed, from the worker that wrote them: receivers may warm what the change made cold.
"""

from django.dispatch import Signal

metrics_changed = Signal()  # kwargs: survey_id (int)
metrics_written = Signal()  # kwargs: survey_id (int)


def metrics_changed_send(*, survey_id: int) -> None:
    metrics_changed.send(sender=None, survey_id=survey_id)


def metrics_written_send(*, survey_id: int) -> None:
    metrics_written.send(sender=None, survey_id=survey_id)
