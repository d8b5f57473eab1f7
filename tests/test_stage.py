"""The lifecycle stage of an owner on a survey date (DESIGN.md §2), at and around every bound.

The expected stage is computed here from the calendar (the anniversary, with 29 February falling back to
28 February) rather than with dateutil, so the engine's use of ``relativedelta`` is checked, not copied.
"""

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from owners.stages import STAGES, stage_as_of

DAY = timedelta(days=1)


def anniversary(moved_in: date, years: int) -> date:
    year = moved_in.year + years
    return date(year, moved_in.month, min(moved_in.day, calendar.monthrange(year, moved_in.month)[1]))


def expected_stage(moved_in: date | None, surveyed_on: date) -> str:
    if moved_in is None or moved_in > surveyed_on:
        return "prospective"
    if surveyed_on <= anniversary(moved_in, 1):
        return "run_in"
    if surveyed_on < anniversary(moved_in, 2):
        return "stable"
    return "veteran"


MOVED_IN = date(2023, 5, 17)


@pytest.mark.parametrize(
    ("surveyed_on", "stage"),
    [
        (MOVED_IN - DAY, "prospective"),
        (MOVED_IN, "run_in"),
        (MOVED_IN + DAY, "run_in"),
        (date(2024, 5, 16), "run_in"),
        (date(2024, 5, 17), "run_in"),  # m + 1 year exactly: 一年以内 includes the bound
        (date(2024, 5, 18), "stable"),  # the day after
        (date(2025, 5, 16), "stable"),  # the day before m + 2 years
        (date(2025, 5, 17), "veteran"),  # m + 2 years exactly: 两年以上 includes the bound
        (date(2025, 5, 18), "veteran"),
        (date(2040, 1, 1), "veteran"),
    ],
)
def test_the_stage_around_each_bound_follows_the_civil_code_reading(surveyed_on, stage):
    assert stage_as_of(MOVED_IN, surveyed_on) == stage


def test_an_owner_without_a_move_in_date_is_prospective():
    assert stage_as_of(None, date(2026, 5, 1)) == "prospective"


def test_an_owner_moving_in_after_the_survey_date_is_prospective():
    assert stage_as_of(date(2026, 5, 2), date(2026, 5, 1)) == "prospective"


@pytest.mark.parametrize(
    ("surveyed_on", "stage"),
    [
        (date(2025, 2, 27), "run_in"),
        (date(2025, 2, 28), "run_in"),  # 2024-02-29 + 1 year = 2025-02-28
        (date(2025, 3, 1), "stable"),
        (date(2026, 2, 27), "stable"),
        (date(2026, 2, 28), "veteran"),  # + 2 years = 2026-02-28
        (date(2026, 3, 1), "veteran"),
    ],
)
def test_a_29_february_move_in_has_its_anniversary_on_28_february(surveyed_on, stage):
    assert stage_as_of(date(2024, 2, 29), surveyed_on) == stage


def test_a_28_february_move_in_before_a_leap_year_keeps_28_february():
    assert stage_as_of(date(2023, 2, 28), date(2024, 2, 28)) == "run_in"
    assert stage_as_of(date(2023, 2, 28), date(2024, 2, 29)) == "stable"


def test_a_29_february_move_in_reaches_the_next_leap_day_as_a_veteran():
    assert stage_as_of(date(2024, 2, 29), date(2028, 2, 29)) == "veteran"


dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))


@settings(max_examples=400, deadline=None)
@given(moved_in=st.one_of(st.none(), dates), surveyed_on=dates)
def test_the_stage_agrees_with_the_calendar_anniversaries(moved_in, surveyed_on):
    assert stage_as_of(moved_in, surveyed_on) == expected_stage(moved_in, surveyed_on)


@settings(max_examples=200, deadline=None)
@given(moved_in=dates, offset=st.integers(min_value=-3, max_value=3))
def test_the_stage_agrees_with_the_calendar_right_at_the_anniversaries(moved_in, offset):
    for years in (1, 2):
        surveyed_on = anniversary(moved_in, years) + timedelta(days=offset)
        assert stage_as_of(moved_in, surveyed_on) == expected_stage(moved_in, surveyed_on)


@settings(max_examples=100, deadline=None)
@given(moved_in=dates)
def test_the_stage_never_goes_back_as_the_survey_date_advances(moved_in):
    order = {stage: i for i, stage in enumerate(STAGES)}
    start = moved_in - timedelta(days=5)
    ranks = [order[stage_as_of(moved_in, start + timedelta(days=d))] for d in range(0, 800, 3)]
    assert ranks == sorted(ranks)
    assert ranks[0] == order["prospective"] and ranks[-1] == order["veteran"]
