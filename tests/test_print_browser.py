"""Dashboards print cleanly: A4 landscape, no navigation or controls, a panel's title, chart and table on one page."""

import os
import shutil
import subprocess

import pytest

from core.templatetags.csm import pct
from satisfaction.models import MetricSnapshot
from tests.conftest import SCREENSHOT_DIR, login
from tests.dashboard_fixtures import build_two_surveys
from tests.support import HUNG_SECONDS, IN_CI

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(not shutil.which("pdftotext") and not IN_CI, reason="poppler-utils is not installed"),
]


def pdf_pages(path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return [" ".join(page.split()) for page in text.split("\f") if page.strip()]


def test_the_overview_prints_on_a4_landscape_without_navigation_with_panels_kept_whole(page, manager, tmp_path):
    _, survey = build_two_surveys()
    login(page, manager)
    page.goto(f"{page.base_url}/dashboards/?survey=2026-annual")
    page.wait_for_selector("#dashboard[data-charts-ready='1']")
    page.emulate_media(media="print")
    assert not page.locator("nav.navbar").is_visible()
    assert not page.locator("#dashboard-filters").is_visible()
    assert not page.locator("#pack-download").is_visible()
    assert page.locator("#chart-ports canvas").is_visible()

    path = tmp_path / "overview.pdf"
    page.pdf(path=str(path), prefer_css_page_size=True, print_background=True)
    os.makedirs(SCREENSHOT_DIR, exist_ok=True)
    shutil.copy(path, os.path.join(SCREENSHOT_DIR, "print-overview.pdf"))  # for a person to look at
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    size = next(line for line in info.splitlines() if line.startswith("Page size:")).split()
    width, height = float(size[2]), float(size[4])
    assert (round(width), round(height)) == (842, 595)  # A4 landscape, in points

    pages = pdf_pages(path)
    text = " ".join(pages)
    assert "退出" not in text and "筛选" not in text and "下载报告包" not in text
    headline = MetricSnapshot.objects.get(survey=survey, port="", project__isnull=True, stage="")
    property_row = MetricSnapshot.objects.get(survey=survey, port="property", project__isnull=True, stage="")
    # Each panel's title sits on the same page as its table's figures.
    for title, figure in (("核心指标", pct(headline.satisfaction_rate)), ("各端口满意度与目标", pct(property_row.satisfaction_rate))):
        on = [i for i, one in enumerate(pages) if title in one]
        assert on and figure in pages[on[0]], (title, figure)



def test_management_downloads_the_pack_from_the_overview_and_reads_the_change_against_last_year(page, manager, tmp_path):
    _, survey = build_two_surveys()
    login(page, manager)
    page.goto(f"{page.base_url}/dashboards/?survey=2026-annual")
    with page.expect_download(timeout=HUNG_SECONDS * 1000) as download:  # the pack renders in seconds
        page.click("#pack-download")
    path = tmp_path / "pack.pdf"
    download.value.save_as(str(path))
    assert download.value.suggested_filename == "report-pack-2026-annual.pdf"
    first = pdf_pages(path)[0]
    headline = MetricSnapshot.objects.get(survey=survey, port="", project__isnull=True, stage="")
    assert f"总体满意度 {pct(headline.satisfaction_rate)}" in first
    assert "对比：2025年度满意度调查" in first
