"""Benchmark: what weighting to the owner population adds to deriving a survey's rows from its cell counts.

    .venv/bin/python bench/weighting.py [--projects 20] [--responses 200000] [--repeat 5]

Pure engine, no database: counts one random survey (standard questionnaire) once, then times
``metrics_from_counts`` without a population (the baseline, same run), with one (every metric row also weighted,
exact fractions), and both for the rows one changed cell feeds (what an incremental update derives). Prints the
medians and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--responses", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np

    from owners.stages import STAGES
    from satisfaction.metrics.engine import metrics_from_counts, survey_cell_counts
    from tests.metrics_support import QUESTIONS, random_frame

    frame = random_frame(7, args.responses, projects=args.projects)
    counts = survey_cell_counts(frame, QUESTIONS)
    rng = np.random.default_rng(1)
    population = {(f"P{p}", stage): int(rng.integers(0, 3000)) for p in range(args.projects) for stage in STAGES}

    def timed(**kwargs) -> float:
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            metrics_from_counts(counts, QUESTIONS, **kwargs)
            runs.append(time.perf_counter() - start)
        return statistics.median(runs)

    one_cell = [("P0", "run_in")]
    plain, weighted = timed(), timed(population=population)
    plain_cell, weighted_cell = timed(cells=one_cell), timed(cells=one_cell, population=population)
    rows = len(metrics_from_counts(counts, QUESTIONS).rows)
    print(f"{args.projects} projects, {args.responses:,} responses, {rows} metric rows; median of {args.repeat}")
    print(f"all rows       : plain {plain * 1000:8.1f} ms   weighted {weighted * 1000:8.1f} ms   × {weighted / plain:.2f}")
    print(f"one cell's rows: plain {plain_cell * 1000:8.1f} ms   weighted {weighted_cell * 1000:8.1f} ms   "
          f"× {weighted_cell / plain_cell:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
