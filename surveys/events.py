"""What the surveys app tells the layers above it without importing them (the architecture's layers).

``responses_changed`` is sent inside the transaction that created, changed or deleted a survey's responses, by
every path (keyed entry, import, online answers, the API, the admin). Its payload:

- ``survey_id`` (int): the survey whose responses changed;
- ``changes``: one ``ResponseChange`` per changed response — its ``before`` and ``after`` state (project, frozen
  stage, answer string), ``before`` None for a new response, ``after`` None for a deleted one — or None when the
  sender cannot say (the receivers then treat every response of the survey as changed).

Receivers may write their own bookkeeping in the same transaction (the metrics app stores each change's
additive counts there, so they exist exactly when the change does) and must defer real work until the
transaction commits (``transaction.on_commit``); the metrics app queues the survey's update then.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from django.dispatch import Signal

responses_changed = Signal()


class ResponseState(NamedTuple):
    """What the metrics read of a response: its project, frozen stage and answer string."""

    project_id: int
    stage: str
    answers: str


class ResponseChange(NamedTuple):
    before: ResponseState | None  # None: the response is new
    after: ResponseState | None  # None: the response was deleted


def response_state(response) -> ResponseState:
    return ResponseState(response.project_id, response.stage, response.answers)


def responses_changed_send(*, survey_id: int, changes: Sequence[ResponseChange] | None = None) -> None:
    """Tell the receivers (every path that writes responses calls this inside its transaction)."""
    responses_changed.send(sender=None, survey_id=survey_id, changes=changes)
