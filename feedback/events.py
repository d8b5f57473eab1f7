"""What the feedback app tells the layers above it without importing them.

``feedback_changed`` is sent inside the transaction that created or changed feedback records, by every path
(the form, the import, a callback that raised an issue); payload ``feedback_ids``: the records written. The
follow-up app keeps one ticket per record from it.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.dispatch import Signal

feedback_changed = Signal()


def feedback_changed_send(*, feedback_ids: Sequence[int]) -> None:
    if feedback_ids:
        feedback_changed.send(sender=None, feedback_ids=list(feedback_ids))
