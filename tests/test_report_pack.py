"""The report pack (PDF): it renders page by page, its headline figures read back out of the PDF's text layer equal
the snapshots (and a recount of the raw answers), a head's pack names no other port, and the downloads are scoped."""

import io
import re
import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from PIL import Image

from core.templatetags.csm import pct
from departments.ports import PORTS, port_label
from owners.models import Project
from reports.services import report_pack_pdf, scorecard_pdf
from satisfaction.models import MetricSnapshot
from surveys.models import Response
from tests.conftest import make_user
from tests.dashboard_fixtures import CODES, surveys_for_module
from tests.support import IN_CI

pytestmark = pytest.mark.skipif(
    not shutil.which("pdftoppm") and not IN_CI, reason="poppler-utils is not installed (apt-get install poppler-utils)"
)

NOW = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    with surveys_for_module(django_db_blocker) as surveys:
        yield surveys


@pytest.fixture
def surveys(built, db):
    return built


def whole(survey, port=""):
    return MetricSnapshot.objects.get(survey=survey, port=port, project__isnull=True, stage="")


def pdf_pages_text(pdf: bytes, tmp_path) -> list[str]:
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def pdf_page_images(pdf: bytes, tmp_path) -> list[Image.Image]:
    path = tmp_path / "pack.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(path), str(tmp_path / "page")], check=True)
    return [Image.open(io.BytesIO(p.read_bytes())) for p in sorted(tmp_path.glob("page-*.png"))]


def recount_overall(survey) -> tuple[int, int]:
    """(answers of 4 or 5, answers given) of ``overall`` straight from the stored answer strings."""
    position = CODES.index("overall")
    given = [r[position] for r in Response.objects.filter(survey=survey).values_list("answers", flat=True)]
    given = [a for a in given if a != "-"]
    return sum(a in "45" for a in given), len(given)


def test_the_managements_pack_has_a_page_per_port_and_its_headlines_equal_the_snapshots(surveys, manager, tmp_path):
    survey = surveys[1]
    pdf = report_pack_pdf(user=manager, survey=survey, now=NOW)
    assert pdf.startswith(b"%PDF")

    images = pdf_page_images(pdf, tmp_path)
    assert len(images) >= 1 + len(PORTS) + 1
    for image in images:  # every page has ink on it (not a blank page), and is A4 portrait
        assert image.convert("L").getextrema()[0] < 128
        assert image.height > image.width

    fonts = subprocess.run(["pdffonts", str(tmp_path / "pack.pdf")], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts and all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:])  # all embedded

    pages = pdf_pages_text(pdf, tmp_path)
    text = "\n".join(pages)
    headline = whole(survey)
    satisfied, given = recount_overall(survey)
    assert headline.n == given and headline.satisfied == satisfied
    assert f"总体满意度 {pct(satisfied / given)}" in pages[0]
    assert f"忠诚度 {pct(headline.loyalty_rate)}" in pages[0]
    for port in PORTS:
        row = whole(survey, port)
        line = f"{port_label(port)}满意度 {pct(row.satisfaction_rate)}"
        # The port's figure opens a page of its own (each port starts a new page).
        starts = [page for page in pages if page.lstrip().startswith(port_label(port))]
        assert len(starts) == 1 and line in starts[0], port
    # The change against 2025 in the same series is on the first page; the last page has the rules and the time.
    assert "2025年度满意度调查" in pages[0]
    assert "数字规则" in pages[-1] and f"{headline.computed_at:%Y-%m-%d}" in pages[-1]
    # Every page carries the footer (the pack's name, from static/css/report-pack.css's running string) and its number.
    assert all(f"满意度报告包 · {survey.name}" in page and f"{i} / {len(pages)}" in page for i, page in enumerate(pages, 1))
    assert not re.search(r"加权 \d", text)  # no weighted figures while the rows carry none


def test_a_heads_pack_holds_only_their_ports(surveys, property_head, tmp_path):
    survey = surveys[1]
    pages = pdf_pages_text(report_pack_pdf(user=property_head, survey=survey, now=NOW), tmp_path)
    text = "\n".join(pages)
    assert f"物业管理满意度 {pct(whole(survey, 'property').satisfaction_rate)}" in text
    for port in PORTS:
        if port != "property":
            assert port_label(port) not in text, port
    # Their scope is said on the first page, and the drivers of headline satisfaction (every port's items) are absent.
    assert "仅您所在部门负责或监控的端口" in pages[0]
    assert "关键驱动因素" not in pages[0]


def test_the_pack_shows_weighted_figures_labelled_when_rows_carry_them(surveys, manager, tmp_path, monkeypatch):
    # Weighting (issue 15, the other half) adds these to the metric rows; here every row carries the same figures.
    monkeypatch.setattr(MetricSnapshot, "weighted_rate", 0.6543, raising=False)
    monkeypatch.setattr(MetricSnapshot, "weighted_ci", (0.6, 0.7), raising=False)
    monkeypatch.setattr(MetricSnapshot, "n_eff", 123.4, raising=False)
    pages = pdf_pages_text(report_pack_pdf(user=manager, survey=surveys[1], now=NOW), tmp_path)
    assert "加权 65.4%（95% 区间 60.0% – 70.0%，有效样本量 n_eff = 123.4）" in pages[0]
    # The by-project table gains a 加权 column: one figure per project on the company page.
    assert pages[0].count("65.4%") == 1 + Project.objects.filter(code__in=["SUN", "RIV", "TINY"]).count()


def test_a_project_scorecard_pdf_shows_the_projects_headline(surveys, tmp_path):
    survey = surveys[1]
    project = Project.objects.get(code="SUN")
    row = MetricSnapshot.objects.get(survey=survey, port="", project=project, stage="")
    pages = pdf_pages_text(scorecard_pdf(survey=survey, project=project, ports=list(PORTS), now=NOW), tmp_path)
    assert "阳光花园" in pages[0] and f"总体满意度 {pct(row.satisfaction_rate)}" in pages[0]


def test_a_heads_scorecard_pdf_names_no_other_port(surveys, client, property_head, tmp_path):
    client.force_login(property_head)
    pdf = client.get("/reports/projects/SUN/scorecard.pdf?survey=2026-annual").content
    text = "\n".join(pdf_pages_text(pdf, tmp_path))
    assert "物业管理" in text and all(port_label(port) not in text for port in PORTS if port != "property")


def test_the_downloads_are_pdfs_within_the_readers_scope(surveys, client, manager, property_head):
    client.force_login(manager)
    response = client.get("/reports/pack.pdf?survey=2026-annual")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert 'filename="report-pack-2026-annual.pdf"' in response["Content-Disposition"]
    assert client.get("/reports/projects/SUN/scorecard.pdf?survey=2026-annual").content.startswith(b"%PDF")
    assert client.get("/reports/pack.pdf?survey=nope").status_code == 404
    assert client.get("/reports/pack.pdf?port=nope").status_code == 404

    client.force_login(property_head)
    assert client.get("/reports/pack.pdf?port=engineering").status_code == 403
    assert client.get("/reports/pack.pdf?port=property").content.startswith(b"%PDF")


def test_the_dashboards_offer_the_pdfs(surveys, client, manager):
    client.force_login(manager)
    overview = client.get("/dashboards/?survey=2026-annual").content.decode()
    assert 'href="/reports/pack.pdf?survey=2026-annual"' in overview
    port = client.get("/dashboards/ports/property/?survey=2026-annual").content.decode()
    assert 'href="/reports/pack.pdf?survey=2026-annual&amp;port=property"' in port
    card = client.get("/dashboards/projects/SUN/?survey=2026-annual").content.decode()
    assert 'href="/reports/projects/SUN/scorecard.pdf?survey=2026-annual"' in card


def test_someone_without_dashboards_gets_no_pack(db, client):
    client.force_login(make_user("nobody"))
    assert client.get("/reports/pack.pdf").status_code == 403
    client.logout()
    assert client.get("/reports/pack.pdf").status_code == 302


def test_a_second_download_is_served_from_the_cache_until_something_it_shows_changes(surveys, client, manager,
                                                                                       monkeypatch):
    from feedback.models import Feedback
    from reports import services

    renders = []
    real = services.pack_pdf_render
    monkeypatch.setattr(services, "pack_pdf_render", lambda *, pack: renders.append(pack) or real(pack=pack))
    client.force_login(manager)
    first = client.get("/reports/pack.pdf?survey=2026-annual&port=property").content
    assert client.get("/reports/pack.pdf?survey=2026-annual&port=property").content == first
    assert len(renders) == 1

    Feedback.objects.create(kind="complaint", project=Project.objects.get(code="SUN"), port="property",
                            received_on=NOW.date(), description="新投诉")
    client.get("/reports/pack.pdf?survey=2026-annual&port=property")
    assert len(renders) == 2 and renders[-1].sections[0].feedback.complaints == renders[0].sections[0].feedback.complaints + 1
