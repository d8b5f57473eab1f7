"""The compact answer string of a response: one character per question, in question order.

``"54-3"`` means the first question scored 5, the second 4, the third not answered, the fourth 3.
"""

from collections.abc import Mapping, Sequence

from surveys.models import NOT_ANSWERED


def encode_answers(codes: Sequence[str], scores: Mapping[str, int | None]) -> str:
    """Scores by question code → answer string in the order of ``codes`` (the survey's question order)."""
    chars = []
    for code in codes:
        score = scores.get(code)
        if score is None:
            chars.append(NOT_ANSWERED)
        elif isinstance(score, int) and 1 <= score <= 5:
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
