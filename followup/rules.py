"""The alert rules as pure functions: one response's scores and comments in, the alerts it raises out.

No database here: ``followup.services`` loads the inputs and writes the tickets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from departments.ports import PORTS

HEADLINE_LOW = "headline_low"
PORT_LOW = "port_low"
KEYWORD = "keyword"

_SEPARATORS = re.compile(r"[\n\r,，、;；]+")


def split_keywords(text: str) -> list[str]:
    """One keyword per line, or separated by 、 , ， ; ；(blanks and repeats dropped, order kept)."""
    seen: list[str] = []
    for word in _SEPARATORS.split(text or ""):
        word = word.strip()
        if word and word not in seen:
            seen.append(word)
    return seen


@dataclass(frozen=True)
class QuestionSpec:
    code: str
    label: str
    kind: str  # headline / port / detail / comment
    port: str  # "" for a headline item or a comment about nothing in particular


@dataclass(frozen=True)
class RuleSpec:
    id: int
    kind: str
    threshold: int
    keywords: tuple[str, ...]
    port: str  # the port that answers when the response names none


@dataclass(frozen=True)
class Alert:
    rule_id: int
    port: str
    summary: str


def _lowest_port(questions: Sequence[QuestionSpec], scores: Mapping[str, int | None], threshold: int) -> str:
    """The port whose port item scored lowest at or below the threshold (ties: the procedure's port order)."""
    low = [
        (scores[q.code], PORTS.index(q.port), q.port)
        for q in questions
        if q.kind == "port" and q.port in PORTS and scores.get(q.code) is not None and scores[q.code] <= threshold
    ]
    return min(low)[2] if low else ""


def alerts_for_response(
    *,
    rules: Sequence[RuleSpec],
    questions: Sequence[QuestionSpec],
    scores: Mapping[str, int | None],
    comments: Mapping[str, str],
) -> list[Alert]:
    """Every alert these rules raise on one response: a headline rule and a keyword rule at most once each (for
    the port with the lowest low port item, else the comment's port, else the rule's port), a port rule once per
    port whose port item is at or below the threshold."""
    alerts: list[Alert] = []
    for rule in rules:
        if rule.kind == HEADLINE_LOW:
            low = [q for q in questions if q.kind == "headline" and scores.get(q.code) is not None
                   and scores[q.code] <= rule.threshold]
            if low:
                port = _lowest_port(questions, scores, rule.threshold) or rule.port
                text = "；".join(f"{q.label} {scores[q.code]} 分" for q in low)
                alerts.append(Alert(rule.id, port, text))
        elif rule.kind == PORT_LOW:
            for q in questions:
                value = scores.get(q.code)
                if q.kind == "port" and q.port in PORTS and value is not None and value <= rule.threshold:
                    alerts.append(Alert(rule.id, q.port, f"{q.label} {value} 分"))
        elif rule.kind == KEYWORD:
            for q in questions:
                text = comments.get(q.code, "")
                hits = [word for word in rule.keywords if word in text]
                if q.kind == "comment" and hits:
                    port = q.port or _lowest_port(questions, scores, rule.threshold) or rule.port
                    alerts.append(Alert(rule.id, port, f"意见含“{'、'.join(hits)}”：{text[:120]}"))
                    break
    return alerts
