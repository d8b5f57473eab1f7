"""Benchmark: what the demo's open comments add to ``seed_demo`` (goal: a small increase; `make run` stays quick).

    .venv/bin/python bench/seed_demo.py [--repeat 3]

SQLite, as `make run`: one database migrated once into a temporary directory, copied fresh for every run. Each run
is ``demo.surveys.demo_seed()`` in its own process (interpreter start and Django set-up not counted): the demo as
it is (comments drawn and written, the keyword tickets opened) and, as the baseline in the same run, the same with
``demo_comments`` returning nothing (no comment rows, no alert run). Prints the medians, the difference and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RUN = """
import json, os, sys, time
sys.path.insert(0, {root!r})
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
import django
django.setup()
import demo.surveys
if {baseline!r}:
    demo.surveys.demo_comments = lambda data, waves: {{}}
started = time.perf_counter()
counts = demo.surveys.demo_seed()
print(json.dumps(dict(counts, seconds=time.perf_counter() - started)))
"""


def _env(database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    env.update(DATABASE_URL=f"sqlite:///{database}", LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="config.settings")
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="csm-bench-seed-") as tmp:
        template = Path(tmp) / "migrated.sqlite3"
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=_env(template), check=True)
        results: dict[str, list[dict]] = {"with comments": [], "baseline (no comments)": []}
        for _ in range(args.repeat):
            for name in results:
                database = Path(tmp) / "run.sqlite3"
                shutil.copyfile(template, database)
                code = RUN.format(root=str(ROOT), baseline=name.startswith("baseline"))
                out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(database), check=True,
                                     capture_output=True, text=True).stdout
                results[name].append(json.loads(out.strip().splitlines()[-1]))
        medians = {name: statistics.median(r["seconds"] for r in runs) for name, runs in results.items()}
        for name, runs in results.items():
            last = runs[-1]
            print(f"{name:24} median {medians[name]:.2f} s of {args.repeat}  "
                  f"({last['responses']} responses, {last.get('comments', 0)} comments, {last.get('tickets', 0)} tickets)")
        mine, base = medians["with comments"], medians["baseline (no comments)"]
        print(f"comments add {mine - base:+.2f} s = {mine / base:.2f} × the baseline")


if __name__ == "__main__":
    main()
