"""The follow-up app listens to the layers below it: changed responses (alerts) and feedback records (tickets)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

# Above this many changed responses (a big import) the task scans the survey's low answers instead of receiving
# every (project, answers) pair: one indexed regex scan costs less than megabytes of task arguments.
CHANGED_PAIRS_LIMIT = 2000


def alerts_when_responses_change(sender=None, *, survey_id: int, changes=None, **kwargs) -> None:
    """Queue the alert run for the survey once the writer's transaction commits (only the changed answers read)."""
    import re

    from followup.services import alert_watch
    from followup.tasks import alerts_run_task

    changed = None
    if changes is not None:
        pattern, reads_comments = alert_watch(survey_id=survey_id)
        low = re.compile(pattern) if pattern else None
        # Only the low answers travel: a response that scores no watched item low cannot raise a score alert.
        changed = sorted({(c.after.project_id, c.after.answers) for c in changes
                          if c.after is not None and low is not None and low.match(c.after.answers)})
        if not changed and not (reads_comments and any(c.after is not None for c in changes)):
            return
        if len(changed) > CHANGED_PAIRS_LIMIT:
            changed = None

    def enqueue() -> None:
        try:
            alerts_run_task.delay(survey_id, changed)
        except Exception:  # broker down: the beat's sweep (changed=None) opens the tickets later
            logger.warning("alert run for survey %s left to the sweep: broker unavailable", survey_id, exc_info=True)

    transaction.on_commit(enqueue)


def tickets_when_feedback_changes(sender=None, *, feedback_ids, **kwargs) -> None:
    """Inside the writer's transaction: each feedback record has its ticket exactly when the record exists."""
    from followup.services import tickets_sync_feedback

    tickets_sync_feedback(feedback_ids=feedback_ids, now=timezone.now())


def connect() -> None:
    from feedback.events import feedback_changed
    from surveys.events import responses_changed

    responses_changed.connect(alerts_when_responses_change, dispatch_uid="followup.alerts")
    feedback_changed.connect(tickets_when_feedback_changes, dispatch_uid="followup.feedback")
