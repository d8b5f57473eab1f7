"""Benchmark: how long a report pack takes to build and render, beside a one-page PDF rendered in the same run.

    .venv/bin/python bench/report_pack.py                 # SQLite file bench/out/report_pack.sqlite3 (demo data)
    DATABASE_URL=sqlite:////path/demo.sqlite3 .venv/bin/python bench/report_pack.py --reuse

Demo data (``seed_demo``, ``seed_demo_feedback``, ``seed_demo_plans``) is loaded once into the file. Per reader
(management: company + five ports; the head of the property company: company + one port) the median of
``--runs`` runs of: reading the snapshots into the pack (charts off), drawing its charts (matplotlib), and the
PDF (WeasyPrint). The floor is a one-page Chinese PDF through the same ``core.pdf`` (fonts loaded and embedded).
No goal is set in DESIGN.md; the figure says what a download or a digest costs (the digest renders one pack per
distinct scope, not per reader).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="use DATABASE_URL (or the bench file) as it is")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    path = ROOT / "bench" / "out" / "report_pack.sqlite3"
    if "DATABASE_URL" not in os.environ:
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
        if not args.reuse or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
            manage = [sys.executable, str(ROOT / "manage.py")]
            for command in (["migrate", "-v0"], ["seed_demo"], ["seed_demo_feedback", "--if-empty"], ["seed_demo_plans"]):
                subprocess.run(manage + command, check=True, stdout=subprocess.DEVNULL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from core.pdf import html_to_pdf
    from reports import selectors
    from reports.services import pack_pdf_render
    from surveys.selectors import survey_latest

    survey = survey_latest()
    users = get_user_model().objects

    def median_ms(work) -> float:
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            work()
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    floor = median_ms(lambda: html_to_pdf(
        "<html><body style=\"font-family:'Noto Sans CJK SC'\"><h1>满意度报告包</h1><p>总体满意度 80.7%</p></body></html>"
    ))
    print(f"survey {survey.code}; floor (one-page Chinese PDF): {floor:8.0f} ms")
    real_chart = selectors.chart_svg
    for username in ("mgmt", "head_property"):
        user = users.get(username=username)
        selectors.chart_svg = lambda *a, **k: None
        read = median_ms(lambda user=user: selectors.report_pack(user=user, survey=survey, now=timezone.now()))
        selectors.chart_svg = real_chart
        pack = selectors.report_pack(user=user, survey=survey, now=timezone.now())
        built = median_ms(lambda user=user: selectors.report_pack(user=user, survey=survey, now=timezone.now()))
        pdf = median_ms(lambda pack=pack: pack_pdf_render(pack=pack))
        with tempfile.NamedTemporaryFile(suffix=".pdf") as out:
            out.write(pack_pdf_render(pack=pack))
            out.flush()
            info = subprocess.run(["pdfinfo", out.name], capture_output=True, text=True).stdout
        pages = next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "?")
        print(f"{username:14s} snapshots {read:6.0f} ms · charts {built - read:6.0f} ms · PDF {pdf:6.0f} ms "
              f"· total {built + pdf:6.0f} ms = {(built + pdf) / floor:4.1f} × floor ({pages} pages)")


if __name__ == "__main__":
    main()
