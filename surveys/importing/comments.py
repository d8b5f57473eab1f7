"""Open comments in an import file: one text column per comment question, written beside the responses.

A comment column present in the file sets the text of each row's response (a blank cell removes it); a comment
column left out of the file leaves the stored texts alone. Every insert, change and removal leaves a history row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from surveys.importing.bulk import insert_with_history, update_with_history
from surveys.models import Question, ResponseComment


@dataclass
class CommentWrite:
    inserts: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)
    changed_response_ids: set[int] = field(default_factory=set)

    def write(self, *, user_id: int | None, at: datetime, reason: str) -> None:
        insert_with_history(ResponseComment, self.inserts, user_id=user_id, at=at, reason=reason)
        update_with_history(ResponseComment, self.updates, fields=["text"], user_id=user_id, at=at, reason=reason)
        if self.deletes:
            _delete_with_history(self.deletes, user_id=user_id, at=at, reason=reason)


def comment_write_plan(
    *, questions: list[Question], texts: dict[str, np.ndarray], response_ids: list[int]
) -> CommentWrite:
    """``texts``: per comment question code present in the file, the parsed text of each row (row order =
    ``response_ids``)."""
    plan = CommentWrite()
    if not questions:
        return plan
    stored = {
        (response_id, question_id): (comment_id, text)
        for comment_id, response_id, question_id, text in ResponseComment.objects.filter(
            question__in=questions
        ).order_by().values_list("id", "response_id", "question_id", "text")
    }
    for question in questions:
        for response_id, text in zip(response_ids, texts[question.code].tolist(), strict=True):
            text = (text or "").strip()
            current = stored.get((response_id, question.pk))
            if current is None:
                if text:
                    plan.inserts.append({"response_id": response_id, "question_id": question.pk, "text": text})
                    plan.changed_response_ids.add(response_id)
            elif not text:
                plan.deletes.append(current[0])
                plan.changed_response_ids.add(response_id)
            elif text != current[1]:
                plan.updates.append({"id": current[0], "response_id": response_id, "question_id": question.pk,
                                     "text": text})
                plan.changed_response_ids.add(response_id)
    return plan


def _delete_with_history(ids: list[int], *, user_id: int | None, at: datetime, reason: str) -> None:
    history = ResponseComment.history.model
    rows = ResponseComment.objects.filter(id__in=ids).order_by("id")
    history.objects.bulk_create(
        history(
            id=row.id,
            response_id=row.response_id,
            question_id=row.question_id,
            text=row.text,
            history_date=at,
            history_type="-",
            history_user_id=user_id,
            history_change_reason=reason,
        )
        for row in rows
    )
    ResponseComment.objects.filter(id__in=ids).delete()
