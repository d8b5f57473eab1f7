"""Comment themes per port: jieba segmentation with an editable lexicon, counts, examples and the share of low
port scores, checked against a count made by hand on a fixed set of comments."""

from datetime import date

import pytest
from django.urls import reverse

from feedback.models import CommentTheme
from feedback.themes import CommentFact, ThemeSpec, port_comment_themes, segment, theme_counts, theme_keywords
from owners.models import Owner, Project
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

PROPERTY = [
    ThemeSpec("保洁", theme_keywords("保洁", "保洁 清洁、卫生，垃圾")),
    ThemeSpec("安保", theme_keywords("安保", "保安 门禁 治安")),
    ThemeSpec("停车", theme_keywords("停车", "车位 车库")),
    ThemeSpec("电梯", theme_keywords("电梯", "")),
    ThemeSpec("绿化", theme_keywords("绿化", "草坪 树木")),
    ThemeSpec("维修", theme_keywords("维修", "报修 修理")),
]

# (response, text, the owner's property score): one owner (r6) wrote two comments.
COMMENTS = [
    CommentFact(1, "小区停车位太少，晚上没地方停", 1),
    CommentFact(2, "保洁阿姨很负责，楼道垃圾也及时清理", 5),
    CommentFact(3, "确保安全是第一位的", 4),  # 保安 only across a word boundary: no 安保
    CommentFact(4, "电梯经常坏，报修后很久才来修理", 2),
    CommentFact(5, "地下车库很暗，保安晚上不巡逻", None),
    CommentFact(6, "垃圾桶满了没人管", 2),
    CommentFact(6, "电梯间卫生差", 2),
    CommentFact(7, "草坪被踩坏了", 3),
    CommentFact(8, "物业费太贵", 1),
]

# Read by hand: theme → the comments (by index) that mention it.
BY_HAND = {
    "保洁": [1, 5, 6],
    "安保": [4],
    "停车": [0, 4],
    "电梯": [3, 6],
    "绿化": [7],
    "维修": [3],
}


def test_keywords_split_on_any_separator_and_include_the_name_once():
    assert theme_keywords("保洁", "保洁 清洁、卫生，垃圾;  清洁") == ("保洁", "清洁", "卫生", "垃圾")


def test_segmentation_keeps_the_lexicon_words_and_does_not_cross_word_boundaries():
    words = segment("确保安全是第一位的", ["保安"])
    assert "保安" not in words
    assert "渗漏" in segment("卫生间渗漏严重", ["渗漏"])


def test_theme_counts_match_an_independent_count_by_hand():
    counts = {count.name: count for count in theme_counts(COMMENTS, PROPERTY)}
    assert list(counts) == [theme.name for theme in PROPERTY]  # the lexicon's order
    for name, indexes in BY_HAND.items():
        mentioned = [COMMENTS[i] for i in indexes]
        owners = {c.response_id: c.port_score for c in mentioned}
        scored = [s for s in owners.values() if s is not None]
        count = counts[name]
        assert count.comments == len(indexes), name
        assert count.owners == len(owners), name
        assert (count.scored, count.low) == (len(scored), sum(s <= 2 for s in scored)), name
        assert count.examples == [c.text for c in mentioned][:3], name
    # Spelled out for two themes: 保洁 — owners 2 (scores 5 and 2), one low; 安保 — nobody scored: no share.
    assert (counts["保洁"].comments, counts["保洁"].owners, counts["保洁"].low_share) == (3, 2, 0.5)
    assert counts["安保"].low_share is None
    assert counts["电梯"].low_share == 1.0


def test_the_low_score_bound_is_two():
    comments = [CommentFact(1, "电梯坏", 2), CommentFact(2, "电梯慢", 3), CommentFact(3, "电梯吵", 1)]
    [count] = theme_counts(comments, [ThemeSpec("电梯", ("电梯",))])
    assert (count.low, count.scored) == (2, 3)


# ---- with the database ---------------------------------------------------------------------------------------

def test_the_lexicon_is_seeded_for_every_port(db):
    seeded = {port: set(CommentTheme.objects.filter(port=port).values_list("name", flat=True)) for port in ("property", "engineering")}
    assert {"保洁", "安保", "停车", "电梯"} <= seeded["property"]
    assert {"渗漏", "裂缝", "空鼓"} <= seeded["engineering"]


@pytest.fixture
def surveyed(db):
    standard = Questionnaire.objects.get(code="standard", version=1)
    copy = questionnaire_copy(source=standard, code="with-comments", name="带意见的问卷")
    items = list(questionnaire_items(questionnaire=copy))
    items += [ItemDef("property_comment", "您对物业服务有什么意见？", "comment", "property"),
              ItemDef("general_comment", "您还有什么建议？", "comment", ""),
              ItemDef("engineering_comment", "您对工程质量有什么意见？", "comment", "engineering")]
    questionnaire = questionnaire_save(questionnaire=copy, name=copy.name, items=items)
    survey = survey_create(code="2027-annual", name="2027 年度", starts_on=date(2027, 9, 1), questionnaire=questionnaire)
    project = Project.objects.create(code="P1", name="翠湖花园")
    rows = [
        (1, {"property_comment": "小区停车位太少"}),
        (2, {"general_comment": "电梯经常坏，停车也难"}),
        (5, {"property_comment": "保洁很好"}),
        (1, {"engineering_comment": "地下车库渗漏"}),  # an engineering question: not read for property
    ]
    for i, (score, comments) in enumerate(rows):
        owner = Owner.objects.create(project=project, unit=f"1-{i}", name=f"业主{i}")
        response_submit(
            survey=survey, owner=owner, questionnaire_no=f"Q{i}", surveyed_on=date(2027, 9, 1),
            scores={"overall": 4, "repurchase": 4, "recommend": 4, "property": score}, comments=comments,
        )
    metrics_compute(survey_id=survey.pk)
    return survey


def test_a_port_reads_its_own_and_the_general_comments_with_the_port_score(surveyed):
    counts = {c.name: c for c in port_comment_themes(survey=surveyed, port="property")}
    assert (counts["停车"].comments, counts["停车"].owners, counts["停车"].low) == (2, 2, 2)
    assert (counts["电梯"].comments, counts["保洁"].comments, counts["保洁"].low) == (1, 1, 0)
    engineering = {c.name: c for c in port_comment_themes(survey=surveyed, port="engineering")}
    assert engineering["渗漏"].comments == 1


def test_the_port_dashboard_shows_the_themes_and_staff_edit_the_lexicon(client, staff, property_head, engineering_head, surveyed):
    client.force_login(property_head)
    html = client.get(reverse("dashboards:port", args=["property"]), {"survey": surveyed.code}).content.decode()
    assert 'data-theme="停车" data-comments="2"' in html and "小区停车位太少" in html
    url = reverse("feedback:themes", args=["property"])
    # The property head owns the port: may edit; the engineering head may not even see it.
    created = client.post(url, {"name": "噪音", "keywords": "噪音 吵", "position": 9})
    assert created.status_code == 302
    duplicate = client.post(url, {"name": "噪音", "keywords": "吵闹", "position": 9})
    assert duplicate.status_code == 400 and "该端口已有同名主题" in duplicate.content.decode()
    theme = CommentTheme.objects.get(port="property", name="停车")
    assert client.post(url, {"id": theme.pk, "name": "停车", "keywords": "车位", "position": 0}).status_code == 302
    theme.refresh_from_db()
    assert theme.keywords == "车位"
    html = client.get(reverse("dashboards:port", args=["property"]), {"survey": surveyed.code}).content.decode()
    assert 'data-theme="噪音" data-comments="0"' in html
    client.force_login(engineering_head)
    assert client.get(url).status_code == 403
    client.force_login(staff)
    assert client.post(url, {"id": theme.pk, "delete": "1"}).status_code == 302
    assert not CommentTheme.objects.filter(pk=theme.pk).exists()
