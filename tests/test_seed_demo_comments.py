"""The demo's open comments (demo.comments): themes of the seeded lexicon, tone that follows the scores, a few alert
keywords, stored like imported comments, and the port dashboards' theme panels and the alert inbox show them."""

import re
from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from demo.comments import ALERT_TEXTS, ENDINGS, GENERAL, GENERAL_TEXTS, HIGH, LOW, MIDDLE, PORT_QUESTIONS, TEXTS
from demo.surveys import demo_dataset
from feedback.themes import CommentFact, port_comment_facts, port_theme_specs, segment, theme_counts
from followup.models import AlertRule, Ticket
from reports.selectors import section_themes
from surveys.answers import decode_answers
from surveys.models import Question, Response, ResponseComment, Survey
from surveys.questionnaires import STANDARD
from surveys.selectors import survey_latest

PORT_OF_QUESTION = {q.code: q.port for q in PORT_QUESTIONS}


def _alert_words() -> list[str]:
    rule = AlertRule.objects.get(kind="keyword")  # the default rule (followup migration 0002)
    return rule.keyword_list()


def test_the_comments_are_the_same_on_every_call_and_about_three_owners_in_ten_write():
    first, second = demo_dataset(), demo_dataset()
    assert first.comments == second.comments
    annual = first.comments["2026-annual"]
    share = len(annual) / len(first.responses["2026-annual"])
    assert 0.25 <= share <= 0.35
    assert first.comments["callback-2025"] and set(first.comments) == {"2026-annual", "callback-2025"}
    assert all(set(texts) == {GENERAL} for texts in first.comments["callback-2025"].values())


def test_a_port_comment_complains_after_a_low_score_and_praises_after_a_high_one():
    data = demo_dataset()
    tone_of = {text: tone for bank in TEXTS.values() for tone, texts in bank.items() for text in texts}
    tone_of |= {text: LOW for texts in ALERT_TEXTS.values() for text in texts}
    general_tone = {text: tone for tone, texts in GENERAL_TEXTS.items() for text in texts}
    codes = [q.code for q in STANDARD]
    seen = Counter()
    for index, texts in data.comments["2026-annual"].items():
        scores = decode_answers(codes, data.responses["2026-annual"][index].answers)
        for code, text in texts.items():
            score = scores["overall"] if code == GENERAL else scores[PORT_OF_QUESTION[code]]
            assert score is not None, "no comment on a port the owner left blank"
            expected = LOW if score <= 2 else MIDDLE if score == 3 else HIGH
            if code == GENERAL:
                assert general_tone[text] == expected, (score, text)
            else:  # a bank text, maybe with an ending of the same tone
                base = max((t for t in tone_of if text.startswith(t)), key=len)
                assert tone_of[base] == expected and text[len(base):] in ENDINGS[expected], (code, score, text)
            seen[expected] += 1
    assert seen[LOW] > 50 and seen[MIDDLE] > 50 and seen[HIGH] > 200


@pytest.mark.django_db
def test_every_text_names_its_theme_in_the_seeded_lexicon_and_only_the_alert_texts_hold_an_alert_word():
    words = _alert_words()
    assert "漏水" in words and "投诉" in words
    specs = {port: port_theme_specs(port=port) for port in {port for port, _ in TEXTS}}
    for banks, alert in ((TEXTS, False), (ALERT_TEXTS, True)):
        for (port, theme), value in banks.items():
            texts = [t for ts in value.values() for t in ts] if isinstance(value, dict) else list(value)
            for text in texts:
                counts = theme_counts([CommentFact(1, text, None)], specs[port], tokenize=segment)
                mentioned = {c.name for c in counts if c.comments}
                assert theme in mentioned, (port, theme, text, segment(text))
                assert any(word in text for word in words) == alert, text
    for texts in GENERAL_TEXTS.values():
        assert not any(word in text for text in texts for word in words)
    # An ending adds no theme and no alert word to the comment it ends.
    keywords = [k for port in specs for spec in specs[port] for k in spec.keywords] + words
    assert not [e for endings in ENDINGS.values() for e in endings if any(k in e for k in keywords)]
    # The general question (read for every port) speaks of the company as a whole: no port's theme either.
    assert not [t for texts in GENERAL_TEXTS.values() for t in texts if any(k in t for k in keywords)]


@pytest.mark.django_db
def test_the_seeded_demo_shows_themes_on_the_port_panels_and_opens_keyword_tickets(client):
    call_command("seed_demo")
    data = demo_dataset()
    survey = Survey.objects.get(code="2026-annual")
    assert survey_latest() == survey  # what the dashboards show by default
    expected = sum(len(texts) for wave in data.comments.values() for texts in wave.values())
    # Stored as imports store them: one row per comment question answered, each with its history row.
    assert ResponseComment.objects.count() == ResponseComment.history.count() == expected
    assert set(Question.objects.filter(survey=survey, kind="comment").values_list("port", flat=True)) == {
        "", "design", "engineering", "sales", "service", "property"}
    first = next(iter(data.comments["2026-annual"].items()))
    stored = dict(ResponseComment.objects.filter(
        response__survey=survey, response__questionnaire_no=data.responses["2026-annual"][first[0]].questionnaire_no
    ).values_list("question__code", "text"))
    assert stored == first[1]

    ports = [("head_property", "property"), ("head_engineering", "engineering"), *(("mgmt", p) for p in ("design", "sales", "service"))]
    for username, port in ports:
        client.force_login(User.objects.get(username=username))
        html = client.get(reverse("dashboards:port", args=[port])).content.decode()
        panel = html[html.index('id="themes-panel"'):]
        counts = dict(re.findall(r'data-theme="([^"]+)" data-comments="(\d+)"', panel))
        assert {spec.name for spec in port_theme_specs(port=port)} == set(counts)
        assert all(int(n) > 0 for n in counts.values()), (port, counts)
        # The report pack's themes of the port are the panel's, theme by theme.
        assert {t.name: str(t.comments) for t in section_themes(survey=survey, port=port)} == counts

    # The story of the scores: 天河云著 (weakest property) writes most about repairs and lifts, 宝安滨海湾花园 (rushed
    # delivery) about leaks and cracks.
    project_of = dict(Response.objects.filter(survey=survey).values_list("id", "project__code"))
    for port, themes, project in (("property", ["维修", "电梯"], "GZ-TH01"), ("engineering", ["渗漏", "裂缝"], "SZ-BA01")):
        facts = port_comment_facts(survey=survey, port=port)
        by_project = {
            code: {t.name: t.comments for t in theme_counts([f for f in facts if project_of[f.response_id] == code],
                                                            port_theme_specs(port=port))}
            for code in set(project_of.values())
        }
        for theme in themes:
            assert max(by_project, key=lambda code: by_project[code][theme]) == project, (theme, by_project)

    words = _alert_words()
    keyword = Ticket.objects.filter(rule__kind="keyword").select_related("response")
    assert keyword.exists()
    holders = {
        response_id
        for response_id, text in ResponseComment.objects.values_list("response_id", "text")
        if any(word in text for word in words)
    }
    assert {t.response_id for t in keyword} == holders
    # Only the responses with an alert word got tickets (their low scores too), not every low score of the waves.
    assert set(Ticket.objects.filter(source="alert").values_list("response_id", flat=True)) == holders
