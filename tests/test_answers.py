"""The answer-string codec: one character per scored question, scalar and vectorised forms agreeing."""

import re
from types import SimpleNamespace

import numpy as np
import pytest

from surveys.answers import (
    ANSWERS_PATTERN,
    NOT_ANSWERED,
    answer_codes,
    answer_questions,
    decode_answer_matrix,
    decode_answers,
    encode_answer_matrix,
    encode_answers,
)

CODES = ["overall", "repurchase", "recommend", "design", "design_layout"]


def test_a_score_is_its_digit_and_no_answer_is_the_dash():
    assert encode_answers(CODES, {"overall": 5, "repurchase": 4, "recommend": None, "design": 3}) == "54-3-"
    assert NOT_ANSWERED == "-"


def test_decoding_reads_back_every_score_and_a_short_string_leaves_the_rest_unanswered():
    assert decode_answers(CODES, "54-3-") == {"overall": 5, "repurchase": 4, "recommend": None, "design": 3,
                                             "design_layout": None}
    assert decode_answers(CODES, "5") == {"overall": 5, **{code: None for code in CODES[1:]}}


@pytest.mark.parametrize("bad", [0, 6, 4.0, True, "5"])
def test_only_integers_1_to_5_encode(bad):
    with pytest.raises(ValueError):
        encode_answers(CODES, {"overall": bad})


def test_the_vectorised_encoder_gives_the_scalar_strings():
    rng = np.random.default_rng(11)
    matrix = rng.integers(0, 6, size=(500, len(CODES))).astype(np.int8)
    strings = encode_answer_matrix(matrix).tolist()
    assert strings == [
        encode_answers(CODES, {code: (int(v) or None) for code, v in zip(CODES, row, strict=True)}) for row in matrix
    ]
    assert all(re.fullmatch(ANSWERS_PATTERN, s) for s in strings)
    assert encode_answer_matrix(np.zeros((2, 0), dtype=np.int8)).tolist() == ["", ""]


def test_the_vectorised_decoder_reads_strings_and_copy_bytes_as_the_scalar_one_does():
    strings = ["54-3-", "-----", "12345", "5", ""]
    expected = np.array(
        [[(decode_answers(CODES, s)[code] or 0) for code in CODES] for s in strings], dtype=np.int8
    )
    assert np.array_equal(decode_answer_matrix(strings, len(CODES)), expected)
    padded = np.array([s.ljust(len(CODES), NOT_ANSWERED).encode() for s in strings], dtype=f"S{len(CODES)}")
    assert np.array_equal(decode_answer_matrix(padded, len(CODES)), expected)
    assert decode_answer_matrix([], 3).shape == (0, 3)


def test_the_string_covers_the_scored_questions_in_position_order_and_nothing_else():
    questions = [
        SimpleNamespace(code="design", kind="port", position=3),
        SimpleNamespace(code="overall", kind="headline", position=0),
        SimpleNamespace(code="remarks", kind="comment", position=2),  # an open comment: no character
        SimpleNamespace(code="design_layout", kind="detail", position=4),
        SimpleNamespace(code="recommend", kind="headline", position=1),
    ]
    assert answer_codes(questions) == ["overall", "recommend", "design", "design_layout"]
    assert [q.code for q in answer_questions(questions)] == answer_codes(questions)


def test_every_scored_kind_of_question_has_a_character():
    from surveys.answers import SCORE_KINDS
    from surveys.models import Question

    assert SCORE_KINDS <= set(Question.Kind.values)
