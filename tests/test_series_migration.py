"""Waves that existed before series and questionnaire versions are filed under them by the migrations: by source,
the callback survey under ``callback``, each questionnaire code as version 1, and their answers untouched."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("surveys", "0005_move_research_bases_to_feedback")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_existing_waves_get_the_series_of_their_source_and_their_questionnaire_as_version_1():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old = _migrate(BEFORE)
    Survey = old.get_model("surveys", "Survey")
    Question = old.get_model("surveys", "Question")
    Response = old.get_model("surveys", "Response")
    Project = old.get_model("owners", "Project")
    Owner = old.get_model("owners", "Owner")
    project = Project.objects.create(code="OLD-01", name="旧楼盘")
    owner = Owner.objects.create(project=project, unit="1-1-101", name="张三")
    made = {}
    for code, source, questionnaire in [
        ("2025-annual", "company", "standard"),
        ("2026-group", "group", "standard"),
        ("callback-2026", "touchpoint", "headline"),
        ("handover-2026", "touchpoint", "headline"),
        ("odd", "company", "custom (v2)"),
    ]:
        made[code] = Survey.objects.create(code=code, name=code, source=source, questionnaire=questionnaire)
    odd = made["odd"]
    Question.objects.create(survey=odd, code="overall", label="总体", kind="headline", position=0, required=True)
    Question.objects.create(survey=odd, code="property", label="物业", kind="port", port="property", position=1)
    Response.objects.create(survey=odd, owner=owner, project=project, questionnaire_no="1", surveyed_on="2026-01-02",
                            stage="prospective", answers="54")

    new = _migrate(latest)
    Survey = new.get_model("surveys", "Survey")
    filed = {
        s.code: (s.series.code, s.questionnaire.code, s.questionnaire.version)
        for s in Survey.objects.select_related("series", "questionnaire")
    }
    assert filed == {
        "2025-annual": ("company", "standard", 1),
        "2026-group": ("group", "standard", 1),
        "callback-2026": ("callback", "headline", 1),
        "handover-2026": ("touchpoint", "headline", 1),
        "odd": ("company", "custom--v2-", 1),
    }
    Item = new.get_model("surveys", "QuestionnaireItem")
    assert list(Item.objects.filter(questionnaire__code="custom--v2-").order_by("position").values_list("code", "kind")) == [
        ("overall", "headline"), ("property", "port"),
    ]
    assert Item.objects.filter(questionnaire__code="standard").count() == 24
    assert new.get_model("surveys", "Response").objects.get().answers == "54"
