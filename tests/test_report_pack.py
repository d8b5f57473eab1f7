"""The report pack (PDF): it renders page by page, its headline figures read back out of the PDF's text layer equal
the snapshots (and a recount of the raw answers), a head's pack names no other port, and the downloads are scoped."""

import io
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

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
SHANGHAI = ZoneInfo("Asia/Shanghai")


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


def weighted_said(label: str, rate, low, high, n_eff) -> str:
    from satisfaction.metrics.engine import too_few

    few = "，样本不足" if too_few(n_eff) else ""
    return f"{label} 加权 {pct(rate)}（95% 区间 {pct(low)} – {pct(high)}，有效样本量 n_eff = {n_eff:.1f}{few}）"


def test_a_weighted_waves_pack_shows_the_weighted_figures_of_its_snapshots_and_metric_rows(db, manager, tmp_path):
    # A real weighted wave (Survey.weighting = population): the roster's stage mix differs from the sample's
    # (run-in owners over-represented), the metrics computed by the service.
    from dashboards.selectors import stage_name
    from satisfaction.selectors import metric_rows, survey_frame, survey_population
    from tests.test_weighting import independent
    from tests.test_weighting_db import build

    survey = build()
    headline = whole(survey)
    [row] = [r for r in metric_rows(survey=survey) if r["port"] is r["project"] is r["stage"] is None]
    frame = survey_frame(survey=survey).astype({"project": str, "stage": str}).replace(0, float("nan"))
    expected = independent(frame, "overall", population=survey_population(survey=survey))
    # The snapshot, its metric row and an independent computation agree, and weighting moves the figure.
    assert (row["weighted_rate"], row["weighted_ci"], row["n_eff"]) == (
        headline.weighted_rate, [headline.weighted_ci_low, headline.weighted_ci_high], headline.n_eff)
    assert headline.weighted_rate == pytest.approx(expected["rate"], abs=1e-12)
    assert headline.n_eff == pytest.approx(expected["n_eff"], rel=1e-12)
    assert abs(headline.weighted_rate - headline.satisfaction_rate) > 0.01

    sections = section_texts(pdf_pages_text(report_pack_pdf(user=manager, survey=survey, now=NOW), tmp_path))
    company = sections[""]
    assert weighted_said("总体满意度", row["weighted_rate"], *row["weighted_ci"], row["n_eff"]) in company
    assert weighted_said("忠诚度", headline.weighted_loyalty_rate, headline.weighted_loyalty_ci_low,
                         headline.weighted_loyalty_ci_high, headline.loyalty_n_eff) in company
    assert f"总体满意度 {pct(headline.satisfaction_rate)}" in company  # the plain figure stays the headline
    # The cells that drop out of the weighting are named (B/stable: on the roster, nobody answered).
    assert f"楼盘B · {stage_name('stable')}" in company
    for port in PORTS:
        port_row = whole(survey, port)
        assert port_row.weighted_rate is not None
        said = weighted_said(f"{port_label(port)}满意度", port_row.weighted_rate, port_row.weighted_ci_low,
                             port_row.weighted_ci_high, port_row.n_eff)
        assert said in sections[port] and said in company, port
    # The by-project table's 加权 column: project A's weighted rate and n_eff beside its plain figures.
    a = MetricSnapshot.objects.get(survey=survey, port="", project__code="A", stage="")
    assert re.search(rf"楼盘A\s+{re.escape(pct(a.satisfaction_rate))}.*{re.escape(pct(a.weighted_rate))}\s+{a.n_eff:.1f}",
                     company)
    # The project's score card PDF carries the project's weighted figures too.
    card = "\n".join(pdf_pages_text(scorecard_pdf(survey=survey, project=a.project, ports=list(PORTS), now=NOW),
                                    tmp_path))
    assert weighted_said("总体满意度", a.weighted_rate, a.weighted_ci_low, a.weighted_ci_high, a.n_eff) in card


def test_an_unweighted_waves_pack_prints_no_weighted_figure(surveys, manager, tmp_path):
    assert not MetricSnapshot.objects.filter(survey=surveys[1], n_eff__isnull=False).exists()
    text = "\n".join(pdf_pages_text(report_pack_pdf(user=manager, survey=surveys[1], now=NOW, only_port="property"),
                                    tmp_path))
    assert not re.search(r"加权 \d", text) and "n_eff" not in text and "不参与加权" not in text
    card = "\n".join(pdf_pages_text(scorecard_pdf(survey=surveys[1], project=Project.objects.get(code="SUN"),
                                                  ports=list(PORTS), now=NOW), tmp_path))
    assert not re.search(r"加权 \d", card) and "n_eff" not in card


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


# --- Comment themes (feedback.themes): the pack prints the port dashboard's figures ---------------------------------

# (port score, {comment question: text}); the general question is read for every port.
COMMENTED = [
    (1, {"property_comment": "小区停车位太少，晚上没地方停"}),
    (2, {"general_comment": "电梯经常坏，停车也难"}),
    (5, {"property_comment": "保洁阿姨很负责，楼道垃圾也及时清理"}),
    (1, {"engineering_comment": "地下车库渗漏，墙面开裂"}),
    (4, {"property_comment": "车库很暗", "general_comment": "交房延期了两个月"}),
    (None, {"property_comment": "电梯间卫生差，保安晚上不巡逻"}),
    (2, {"engineering_comment": "窗户漏水"}),
]
COMMENT_QUESTIONS = {"property_comment": "property", "engineering_comment": "engineering", "general_comment": ""}


@pytest.fixture
def commented(db):
    from owners.models import Owner
    from satisfaction.services import metrics_compute
    from surveys.models import Questionnaire
    from surveys.services import (
        ItemDef,
        questionnaire_copy,
        questionnaire_items,
        questionnaire_save,
        response_submit,
        survey_create,
    )

    standard = Questionnaire.objects.get(code="standard", version=1)
    copy = questionnaire_copy(source=standard, code="with-comments", name="带意见的问卷")
    items = [*questionnaire_items(questionnaire=copy),
             ItemDef("property_comment", "您对物业服务有什么意见？", "comment", "property"),
             ItemDef("general_comment", "您还有什么建议？", "comment", ""),
             ItemDef("engineering_comment", "您对工程质量有什么意见？", "comment", "engineering")]  # fmt: skip
    questionnaire = questionnaire_save(questionnaire=copy, name=copy.name, items=items)
    survey = survey_create(code="2027-annual", name="2027 年度", starts_on=date(2027, 9, 1), questionnaire=questionnaire)
    project = Project.objects.create(code="P1", name="翠湖花园")
    for i, (score, comments) in enumerate(COMMENTED):
        owner = Owner.objects.create(project=project, unit=f"1-{i}", name=f"业主{i}")
        scores = {"overall": 4, "repurchase": 4, "recommend": 4} | ({"property": score} if score else {})
        response_submit(survey=survey, owner=owner, questionnaire_no=f"Q{i}", surveyed_on=date(2027, 9, 1),
                        scores=scores, comments=comments)  # fmt: skip
    metrics_compute(survey_id=survey.pk)
    return survey


def by_hand(port: str) -> list:
    """``theme_counts`` on the fixture's comments read for ``port`` as written above (own and general questions),
    against the port's lexicon — no database read of the answers."""
    from feedback.models import CommentTheme
    from feedback.themes import CommentFact, ThemeSpec, theme_counts, theme_keywords

    facts = [
        CommentFact(i, text, score if port == "property" else None)
        for i, (score, comments) in enumerate(COMMENTED)
        for question, text in comments.items()
        if COMMENT_QUESTIONS[question] in (port, "")
    ]
    lexicon = CommentTheme.objects.filter(port=port).order_by("position", "id")
    return theme_counts(facts, [ThemeSpec(t.name, theme_keywords(t.name, t.keywords)) for t in lexicon])


def theme_line(name: str, count) -> re.Pattern:
    share = f"{pct(count.low_share)}（{count.low}/{count.scored}）" if count.low_share is not None else "—"
    return re.compile(rf"^\s*{name}\s+{count.comments}\s+{count.owners}\s+{re.escape(share)}", re.M)


def section_texts(pages: list[str]) -> dict[str, str]:
    """The text of each section ("" = company, a port, "rules"), its pages joined (a section may run over pages)."""
    starts = {"": 0}
    for i, page in enumerate(pages):
        head = page.lstrip()
        found = [port for port in PORTS if head.startswith(port_label(port))]
        if found:
            starts[found[0]] = i
        elif head.startswith("计算时间与数字规则"):
            starts["rules"] = i
    bounds = sorted(starts.items(), key=lambda item: item[1])
    return {key: "\n".join(pages[start:(bounds[k + 1][1] if k + 1 < len(bounds) else len(pages))])
            for k, (key, start) in enumerate(bounds)}


def test_the_pack_prints_each_ports_comment_themes_as_theme_counts_reckons_them(commented, manager, client, tmp_path):
    pages = pdf_pages_text(report_pack_pdf(user=manager, survey=commented, now=NOW), tmp_path)
    expected = {port: by_hand(port) for port in PORTS}
    # The port dashboard's theme panel shows the same counts.
    client.force_login(manager)
    panel = client.get(f"/dashboards/ports/property/?survey={commented.code}").content.decode()
    for count in expected["property"]:
        assert f'data-theme="{count.name}" data-comments="{count.comments}"' in panel, count.name
    # The fixture is not trivial: property has themes with low scores, engineering and sales themes are mentioned.
    property_counts = {c.name: c for c in expected["property"]}
    assert (property_counts["停车"].comments, property_counts["停车"].low) == (3, 2)
    assert {c.name for c in expected["engineering"] if c.comments} == {"渗漏", "裂缝", "墙面", "门窗"}
    sections = section_texts(pages)
    assert set(sections) == {"", *PORTS, "rules"}
    for port in PORTS:
        themes_part = sections[port][sections[port].index("开放意见主题"):]
        for count in expected[port]:
            if count.comments:
                assert theme_line(count.name, count).search(themes_part), (port, count.name)
            else:  # the lexicon's unmentioned themes are named once, in one line
                assert not re.search(rf"^\s*{count.name}\s+\d", themes_part, re.M), (port, count.name)
    # Property's page shows examples: the first comment mentioning 停车 in the panel's order (newest first).
    property_page = sections["property"]
    assert "“车库很暗”" in property_page and "“小区停车位太少，晚上没地方停”" not in property_page  # two examples only

    # The company section lists the top themes across the ports, most comments first, each with its port.
    top = sorted(((c.comments, c.owners, port, c) for port in PORTS for c in expected[port] if c.comments),
                 key=lambda item: (-item[0], -item[1]))
    company = sections[""]
    _comments, _owners, port, first = top[0]
    assert (port, first.name) == ("property", "停车")
    share = f"{pct(first.low_share)}（{first.low}/{first.scored}）"
    line = rf"^\s*物业管理\s+停车\s+{first.comments}\s+{first.owners}\s+{re.escape(share)}"
    assert re.search(line, company[company.index("开放意见主要主题"):], re.M)


def test_a_lexicon_change_redraws_the_cached_pack_with_the_new_theme(commented, client, property_head, monkeypatch):
    from feedback.models import CommentTheme
    from reports import services

    renders = []
    monkeypatch.setattr(services, "pack_pdf_render", lambda *, pack: renders.append(pack) or b"%PDF-1.7 drawn")
    client.force_login(property_head)
    url = f"/reports/pack.pdf?survey={commented.code}&port=property"
    assert client.get(url).content == client.get(url).content == b"%PDF-1.7 drawn"
    assert len(renders) == 1 and "巡逻" not in {c.name for c in renders[0].sections[0].themes}
    # Added in bulk (no save signal, so the data version stays): the lexicon's own state is in the pack's key.
    CommentTheme.objects.bulk_create([CommentTheme(port="property", name="巡逻", keywords="夜巡", position=9)])
    client.get(url)
    assert len(renders) == 2
    counts = {c.name: c.comments for c in renders[-1].sections[0].themes}
    assert counts["巡逻"] == 1 and counts == {c.name: c.comments for c in by_hand("property")}


# --- Overdue follow-up tickets (the follow-up app's own selection) --------------------------------------------------


def open_ticket(port: str, text: str, when: datetime):
    """A feedback record and its follow-up ticket, opened by the follow-up app's own sync at ``when``."""
    from feedback.models import Feedback
    from followup.models import Ticket
    from followup.services import tickets_sync_feedback

    feedback = Feedback.objects.create(kind="complaint", project=Project.objects.get(code="SUN"), port=port,
                                       received_on=when.date(), description=text)  # fmt: skip
    tickets_sync_feedback(feedback_ids=[feedback.pk], now=when)
    return Ticket.objects.get(feedback=feedback)


def test_a_heads_pack_lists_their_ports_overdue_tickets_as_the_follow_up_app_selects_them(surveys, property_head,
                                                                                          tmp_path):
    from followup.selectors import ticket_list
    from followup.services import tickets_escalate

    late = open_ticket("property", "电梯困人未处理", datetime(2026, 4, 20, 1, tzinfo=UTC))
    open_ticket("engineering", "外墙渗水未处理", datetime(2026, 4, 21, 1, tzinfo=UTC))  # not their port
    fresh = open_ticket("property", "刚受理的投诉", datetime(2026, 4, 30, 12, tzinfo=UTC))  # due after NOW
    tickets_escalate(now=NOW)
    tickets_escalate(now=NOW)  # a day past due already: on to management
    assert [t.pk for t in ticket_list(user=property_head, overdue_at=NOW)] == [late.pk]
    assert fresh.due_at > NOW

    sections = section_texts(pdf_pages_text(report_pack_pdf(user=property_head, survey=surveys[1], now=NOW), tmp_path))
    page = sections["property"][sections["property"].index("逾期跟进工单"):]
    late.refresh_from_db()
    assert re.search(rf"{late.due_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}\s+阳光花园\s+新建\s+已升级至管理层\s+投诉：电梯困人未处理",
                     page)
    assert "刚受理的投诉" not in page and "外墙渗水" not in "\n".join(sections.values())
    company = sections[""][sections[""].index("逾期跟进工单"):]
    assert re.search(r"物业管理\s+1\s+1", company)


def test_the_cached_pack_is_redrawn_when_its_overdue_tickets_change(surveys, client, property_head, monkeypatch):
    from followup.models import Ticket, TicketStatus
    from reports import services

    renders = []
    monkeypatch.setattr(services, "pack_pdf_render", lambda *, pack: renders.append(pack) or b"%PDF-1.7 drawn")
    ticket = open_ticket("property", "电梯困人未处理", datetime(2026, 4, 20, 1, tzinfo=UTC))
    client.force_login(property_head)
    url = "/reports/pack.pdf?survey=2026-annual&port=property"
    client.get(url)
    client.get(url)
    assert len(renders) == 1 and [t.pk for t in renders[0].sections[0].overdue] == [ticket.pk]
    # Called back by a bulk update (no signal moves a version): the pack no longer lists it, so it is redrawn.
    Ticket.objects.filter(pk=ticket.pk).update(status=TicketStatus.CALLED_BACK)
    client.get(url)
    assert len(renders) == 2 and renders[-1].sections[0].overdue == []
