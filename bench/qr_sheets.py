"""Benchmark: printing QR codes for a project (what one click on 下载二维码 PDF costs).

    .venv/bin/python bench/qr_sheets.py [--owners 200]

Renders, for ``--owners`` owners in 4 buildings, the A4 page-per-owner sheet and the label sheet (3 × 7 per page, a
page per building) through core/pdf.py, and beside them the same-run baseline: the same number of A4 pages of the
same text without QR codes (what WeasyPrint costs for the pages alone). Prints seconds, ms per owner and the QR's
share. No database: the cards are built in memory as the view builds them.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()
logging.disable(logging.INFO)  # WeasyPrint logs every layout step

from core.pdf import html_to_pdf  # noqa: E402
from online.qr import qr_card, qr_labels_pdf, qr_sheets_pdf  # noqa: E402


def timed(work):
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owners", type=int, default=200)
    args = parser.parse_args()
    n = args.owners
    cards = [
        qr_card(project_name="翡翠湾", unit=f"{1 + i % 4}-1-{i // 4 + 1:02d}01", owner_name="张三",
                url=f"https://csm.example.cn/o/{'x' * 28}{i:04d}/")
        for i in range(n)
    ]
    cards.sort(key=lambda card: card.unit)
    plain = "".join(
        f'<section style="page-break-after: always"><h1>2026 年度满意度调查</h1><p>{c.project_name} · {c.unit} · '
        f"{c.masked_name} 业主</p><ol><li>用手机微信或相机扫描上方二维码。</li><li>逐题选择 1–5 分。</li></ol></section>"
        for c in cards
    )
    base, _ = timed(lambda: html_to_pdf(f"<html><body style=\"font-family:'Noto Sans CJK SC'\">{plain}</body></html>"))
    sheets, sheet_pdf = timed(lambda: qr_sheets_pdf(survey_name="2026 年度满意度调查", cards=cards))
    labels, label_pdf = timed(lambda: qr_labels_pdf(survey_name="2026 年度满意度调查", cards=cards))
    print(f"{n} owners, load {os.getloadavg()[0]:.1f}")
    print(f"  baseline  {n} text-only A4 pages: {base:6.2f} s  ({base / n * 1000:5.1f} ms/owner)")
    print(f"  sheets    a page per owner:      {sheets:6.2f} s  ({sheets / n * 1000:5.1f} ms/owner, "
          f"{sheets / base:.1f} × baseline, {len(sheet_pdf) // 1024} KB)")
    print(f"  labels    3 × 7 per page:        {labels:6.2f} s  ({labels / n * 1000:5.1f} ms/owner, "
          f"{labels / base:.1f} × baseline, {len(label_pdf) // 1024} KB)")


if __name__ == "__main__":
    main()
