"""English beside Chinese: the catalogue is complete and compiled, and the pages speak the language asked for.

Chinese (zh-hans) is the default; a browser asking for English (Accept-Language) or a user choosing it in the
navbar's language form (Django's ``set_language``) gets every translated string in English.
"""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.conftest import login, screenshot
from tests.dashboard_fixtures import build_survey

PO = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdfir]|%%")
SMALL = (("SUN", "阳光花园", 40),)


def po_entries(path: Path = PO) -> list[dict]:
    """The entries of a .po file: flags, msgid, msgid_plural and msgstr (a dict {index: text} for plurals)."""
    entries, entry, field = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if entry and "msgid" in entry:
                entries.append(entry)
            entry, field = None, None
            continue
        entry = entry if entry is not None else {"flags": set(), "msgstr": {}}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            text = ast.literal_eval(line)
            if isinstance(field, int):
                entry["msgstr"][field] += text
            else:
                entry[field] += text
        else:
            keyword, _, quoted = line.partition(" ")
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            field = int(match.group(1)) if match else ("msgstr_single" if keyword == "msgstr" else keyword)
            if isinstance(field, int):
                entry["msgstr"][field] = ast.literal_eval(quoted)
            else:
                entry[field] = ast.literal_eval(quoted)
    for e in entries:
        if "msgstr_single" in e:
            e["msgstr"] = e.pop("msgstr_single")
    return [e for e in entries if not e.get("obsolete")]


def translations(entries) -> list[str]:
    return [
        text for e in entries if e["msgid"] for text in (e["msgstr"].values() if isinstance(e["msgstr"], dict) else [e["msgstr"]])
    ]


# --- The catalogue --------------------------------------------------------------------------------------------------


def test_the_english_catalogue_has_hundreds_of_messages_and_says_it_is_english():
    entries = po_entries()
    header = next(e for e in entries if e["msgid"] == "")
    assert "Language: en\n" in header["msgstr"]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header["msgstr"]
    assert len(entries) > 500
    assert any(e.get("msgid_plural") for e in entries)


def test_every_message_has_an_english_translation_and_none_is_fuzzy():
    entries = po_entries()
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    empty = [
        e["msgid"]
        for e in entries
        if e["msgid"]
        and (not all(e["msgstr"].get(i) for i in (0, 1)) if e.get("msgid_plural") else not e["msgstr"])
    ]
    assert fuzzy == []
    assert empty == []


def test_translations_are_english_and_keep_every_placeholder():
    entries = po_entries()
    cjk = re.compile(r"[\u4e00-\u9fff]")
    # Only an example of the date format the importer reads may keep its Chinese characters.
    chinese = [t for t in translations(entries) if cjk.search(t) and "2026年3月5日" not in t]
    assert chinese == []
    broken = []
    for e in entries:
        if not e["msgid"] or "python-format" not in e["flags"]:
            continue
        wanted = sorted(PLACEHOLDER.findall(e["msgid"]))
        texts = e["msgstr"].values() if isinstance(e["msgstr"], dict) else [e["msgstr"]]
        broken += [(e["msgid"], t) for t in texts if sorted(PLACEHOLDER.findall(t)) != wanted]
    assert broken == []


def test_the_compiled_catalogue_is_the_po_file():
    """The committed .mo holds exactly the .po's translations (a .po edited without compilemessages fails here)."""
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    header = compiled.pop("")
    assert "Language: en\n" in header and "charset=UTF-8" in header
    expected = {}
    for e in po_entries():
        if not e["msgid"]:
            continue  # msgfmt drops POT-Creation-Date from the header, so the header is checked above
        if e.get("msgid_plural"):
            for index, text in e["msgstr"].items():
                expected[(e["msgid"], index)] = text
        else:
            expected[e["msgid"]] = e["msgstr"]
    assert compiled == expected


# --- Pages ----------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_login_page_is_chinese_by_default_and_english_for_an_english_browser(client):
    chinese = client.get("/accounts/login/").content.decode()
    assert '<html lang="zh-hans">' in chinese
    assert "用户名" in chinese and "忘记密码？" in chinese

    english = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="en">' in english
    for text in ("Log in", "Username", "Password", "Forgot password?", "Customer Satisfaction"):
        assert text in english
    for text in ("登录", "用户名", "密码", "客户满意度管理"):
        assert text not in english

    assert "用户名" in client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5").content.decode()


HOME_ZH = ("满意度概览", "总体满意度", "忠诚度", "各端口满意度", "物业管理", "退出")
HOME_EN = ("Satisfaction at a glance", "Overall satisfaction", "Loyalty", "Satisfaction by port", "Property management", "Log out")


@pytest.mark.django_db
def test_the_home_page_follows_the_language_chosen_in_the_navbar(client, staff):
    build_survey("2026-annual", year=2026, seed=3, projects=SMALL)
    client.force_login(staff)
    chinese = client.get("/").content.decode()
    assert all(text in chinese for text in HOME_ZH)
    assert 'action="/i18n/setlang/"' in chinese and '<option value="en" lang="en">English</option>' in chinese

    answer = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    english = client.get("/").content.decode()
    assert '<html lang="en">' in english
    assert all(text in english for text in HOME_EN)
    assert not any(text in english for text in HOME_ZH)
    assert '<option value="en" lang="en" selected>English</option>' in english

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert all(text in client.get("/").content.decode() for text in HOME_ZH)


@pytest.mark.django_db
def test_a_dashboard_cached_in_chinese_is_still_english_for_an_english_reader(client, manager):
    build_survey("2026-annual", year=2026, seed=4, projects=SMALL)
    client.force_login(manager)
    chinese = client.get("/dashboards/ports/property/").content.decode()
    assert "端口看板" in chinese and "未设目标" in chinese and "关键驱动因素（重要性–表现）" in chinese

    english = client.get("/dashboards/ports/property/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for text in ("Port dashboard", "Property management satisfaction", "No target", "Key drivers (importance–performance)",
                 "95% confidence interval"):
        assert text in english
    for text in ("端口看板", "未设目标", "关键驱动因素", "置信区间", "重点改进区"):
        assert text not in english
    # The text the charts draw comes from the page too (static/js/dashboards.js reads data-t-*).
    assert 'data-t-interval="95% confidence interval"' in english and 'data-t-median="Median"' in english


@pytest.mark.django_db
def test_choosing_a_language_needs_a_login_like_every_other_page(client):
    answer = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")
    assert settings.LANGUAGE_COOKIE_NAME not in answer.cookies


# --- In the browser -------------------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_brand_service_staff_switch_to_english_and_read_the_home_page_and_the_overview(page, staff):
    build_survey("2026-annual", year=2026, seed=5, projects=SMALL)
    login(page, staff)
    expect(page.get_by_role("heading", name="满意度概览")).to_be_visible()

    page.select_option("#language-select", "en")
    page.get_by_role("button", name="切换").click()
    expect(page.get_by_role("heading", name="Satisfaction at a glance")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    # The longest menu (brand-service staff) in the longer language still fits the window: nothing to scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    screenshot(page, "i18n-home-en")

    page.get_by_role("link", name="Overview").click()
    page.wait_for_selector("#dashboard[data-charts-ready='1']")
    expect(page.get_by_role("heading", name="Company satisfaction overview")).to_be_visible()
    assert "总体满意度" not in page.inner_text("main")
    screenshot(page, "i18n-overview-en")

    page.get_by_role("link", name="Property management").first.click()
    page.wait_for_selector("#dashboard[data-charts-ready='1']")
    expect(page.locator("#language-select")).to_have_value("en")
    screenshot(page, "i18n-port-en")
