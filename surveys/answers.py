"""The answer string of a response, the one codec every reader and writer of it uses.

One character per scored question of the survey, in question order: ``1``–``5`` for a score, ``-``
(``NOT_ANSWERED``) for none. ``"54-3"`` means the first question scored 5, the second 4, the third not answered,
the fourth 3. Which questions the string covers is ``answer_questions``: the scored kinds in position order; a
question of another kind (an open comment) is kept outside it.

Scalar (``encode_answers`` / ``decode_answers``: one response, scores by question code) and vectorised
(``encode_answer_matrix`` / ``decode_answer_matrix``: many responses as an int8 score matrix, 0 = not answered,
the metrics engine's input) forms give the same strings. Pure: no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol, TypeVar

import numpy as np
import pandas as pd

NOT_ANSWERED = "-"
# The database's check on Response.answers: nothing but scores and the not-answered mark.
ANSWERS_PATTERN = f"^[1-5{NOT_ANSWERED}]*$"
# The kinds of question a respondent scores 1–5; only these have a character in the answer string.
SCORE_KINDS = frozenset({"headline", "port", "detail"})

_ZERO = ord("0")
_NOT_ANSWERED_BYTE = ord(NOT_ANSWERED)


class _QuestionLike(Protocol):
    code: str
    kind: str
    position: int


Q = TypeVar("Q", bound=_QuestionLike)


def answer_questions(questions: Iterable[Q]) -> list[Q]:
    """The questions the answer string covers, in its order: the scored ones, by position."""
    return sorted((q for q in questions if q.kind in SCORE_KINDS), key=lambda q: q.position)


def answer_codes(questions: Iterable[_QuestionLike]) -> list[str]:
    """The question codes of the answer string, one per character (see ``answer_questions``)."""
    return [q.code for q in answer_questions(questions)]


def encode_answers(codes: Sequence[str], scores: Mapping[str, int | None]) -> str:
    """Scores by question code → answer string in the order of ``codes`` (``answer_codes`` of the survey)."""
    chars = []
    for code in codes:
        score = scores.get(code)
        if score is None:
            chars.append(NOT_ANSWERED)
        elif isinstance(score, int) and not isinstance(score, bool) and 1 <= score <= 5:
            chars.append(str(score))
        else:
            raise ValueError(f"score of {code} must be an integer 1–5 or None, got {score!r}")
    return "".join(chars)


def decode_answers(codes: Sequence[str], answers: str) -> dict[str, int | None]:
    """Answer string → scores by question code; a string shorter than the questionnaire leaves the rest unanswered."""
    scores: dict[str, int | None] = {}
    for index, code in enumerate(codes):
        char = answers[index] if index < len(answers) else NOT_ANSWERED
        scores[code] = None if char == NOT_ANSWERED else int(char)
    return scores


def encode_answer_matrix(matrix: np.ndarray) -> np.ndarray:
    """``encode_answers`` over all rows at once: an (responses × questions) int8 matrix of scores, 0 = not
    answered, → an array of answer strings (``.tolist()`` gives Python strings)."""
    n, width = matrix.shape
    if width == 0:
        return np.full(n, "", dtype="<U1")
    if len(matrix) and (matrix.min() < 0 or matrix.max() > 5):
        raise ValueError("scores must be 1–5, or 0 when not answered")
    chars = np.where(matrix > 0, matrix.astype(np.uint8) + _ZERO, _NOT_ANSWERED_BYTE).astype(np.uint8)
    return np.frombuffer(np.ascontiguousarray(chars).tobytes(), dtype=f"S{width}").astype(f"<U{width}")


def decode_answer_matrix(answers: Sequence[str] | pd.Series | np.ndarray, width: int) -> np.ndarray:
    """``decode_answers`` over all rows at once: answer strings (or the fixed-width bytes a binary COPY delivers,
    dtype ``S{width}``) → an (responses × width) int8 matrix of scores, 0 = not answered. A short string leaves
    the rest unanswered; characters beyond ``width`` are ignored. No Python loop over rows."""
    if isinstance(answers, np.ndarray) and answers.dtype.kind == "S":
        # Fixed width already; a shorter value is padded with NUL bytes, which decode as not answered below.
        fixed = answers.astype(f"S{width}") if answers.dtype.itemsize != width else answers
        codes = np.ascontiguousarray(fixed).view(np.uint8).reshape(len(fixed), width)
    else:
        series = answers if isinstance(answers, pd.Series) else pd.Series(list(answers), dtype=object)
        if len(series) == 0 or width == 0:
            return np.zeros((len(series), width), dtype=np.int8)
        padded = series.str.pad(width, side="right", fillchar=NOT_ANSWERED).str.slice(0, width)
        codes = np.frombuffer("".join(padded.tolist()).encode("ascii"), dtype=np.uint8).reshape(len(series), width)
    matrix = codes.astype(np.int8) - _ZERO
    matrix[matrix < 0] = 0
    return matrix
