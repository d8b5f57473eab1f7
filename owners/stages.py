"""The owner lifecycle stage (DESIGN §2): its codes and labels, its order, and its rule, scalar and vectorised.

m = move-in date, s = survey date: 准业主 no move-in or m > s; 磨合期 s ≤ m + 1 year; 稳定期 m + 1 year < s <
m + 2 years; 老业主 s ≥ m + 2 years. "一年以内" and "两年以上" include the bound (Civil Code art. 1259); the
anniversary of 29 February is 28 February (``relativedelta``).
"""

from datetime import date

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta
from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    PROSPECTIVE = "prospective", _("准业主")
    RUN_IN = "run_in", _("磨合期业主")
    STABLE = "stable", _("稳定期业主")
    VETERAN = "veteran", _("老业主")


# The order in which stages are listed everywhere (tables, charts, exports, the engine's cells).
STAGES: tuple[str, ...] = tuple(Stage.values)


def stage_label(code: str) -> str:
    """The stage's Chinese name, in the active language."""
    return str(Stage(code).label)


def stage_as_of(move_in_date: date | None, surveyed_on: date) -> str:
    """The owner's lifecycle stage on the survey date; both bounds count ("以内"/"以上" include the bound)."""
    if move_in_date is None or move_in_date > surveyed_on:
        return Stage.PROSPECTIVE.value
    if surveyed_on <= move_in_date + relativedelta(years=1):
        return Stage.RUN_IN.value
    if surveyed_on < move_in_date + relativedelta(years=2):
        return Stage.STABLE.value
    return Stage.VETERAN.value


def stages_as_of(move_in: np.ndarray, surveyed_on: np.ndarray) -> np.ndarray:
    """``stage_as_of`` over arrays: the anniversaries come from the same ``relativedelta`` arithmetic, computed
    once per distinct move-in date, and the comparisons are vectorised."""
    n = len(surveyed_on)
    stages = np.full(n, "prospective", dtype=object)
    has_move_in = np.fromiter((value is not None for value in move_in), dtype=bool, count=n)
    if not has_move_in.any():
        return stages
    idx = np.flatnonzero(has_move_in)
    m_codes, m_uniques = pd.factorize(move_in[idx], use_na_sentinel=False)
    s_codes, s_uniques = pd.factorize(surveyed_on[idx], use_na_sentinel=False)
    m_days = np.array([np.datetime64(value, "D") for value in m_uniques], dtype="datetime64[D]")
    one_days = np.array(
        [np.datetime64(value + relativedelta(years=1), "D") for value in m_uniques], dtype="datetime64[D]"
    )
    two_days = np.array(
        [np.datetime64(value + relativedelta(years=2), "D") for value in m_uniques], dtype="datetime64[D]"
    )
    s_days = np.array([np.datetime64(value, "D") for value in s_uniques], dtype="datetime64[D]")
    m, one, two, s = m_days[m_codes], one_days[m_codes], two_days[m_codes], s_days[s_codes]
    sub = np.where(m > s, "prospective", np.where(s <= one, "run_in", np.where(s < two, "stable", "veteran")))
    stages[idx] = sub
    return stages
