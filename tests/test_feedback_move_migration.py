"""The research-base models moved from ``surveys`` to ``feedback`` with their tables: an existing database keeps
every record, and the permissions groups were given on them."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("surveys", "0004_drop_redundant_response_indexes"), ("feedback", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


@pytest.mark.django_db(transaction=True)
def test_a_database_with_feedback_in_the_old_layout_keeps_every_record_after_the_move():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    old = _migrate(BEFORE)
    Project = old.get_model("owners", "Project")
    Owner = old.get_model("owners", "Owner")
    Feedback = old.get_model("surveys", "Feedback")
    CallbackRule = old.get_model("surveys", "CallbackRule")
    Callback = old.get_model("surveys", "Callback")
    Benchmark = old.get_model("surveys", "ExternalBenchmark")
    BenchmarkRow = old.get_model("surveys", "ExternalBenchmarkRow")
    ContentType = old.get_model("contenttypes", "ContentType")
    Permission = old.get_model("auth", "Permission")
    Group = old.get_model("auth", "Group")

    project = Project.objects.create(code="OLD-01", name="旧楼盘")
    owner = Owner.objects.create(project=project, unit="1-1-101", name="张三")
    for number in range(25):
        Feedback.objects.create(
            kind="complaint", project=project, owner=owner, port="property", description=f"投诉 {number}",
            received_on=datetime.date(2026, 1, 1) + datetime.timedelta(days=number),
        )
    rule = CallbackRule.objects.get_or_create(months_after_move_in=3, defaults={"name": "三个月回访"})[0]
    Callback.objects.create(owner=owner, rule=rule, called_on=datetime.date(2026, 2, 1), outcome="reached")
    benchmark = Benchmark.objects.create(name="集团报告", source="集团", report_on=datetime.date(2026, 3, 1))
    BenchmarkRow.objects.create(benchmark=benchmark, sample_size=100, satisfaction_rate=0.8)
    # An installation that ran before the move has the content types and permissions under ``surveys``.
    feedback_type, _ = ContentType.objects.get_or_create(app_label="surveys", model="feedback")
    change, _ = Permission.objects.get_or_create(
        content_type=feedback_type, codename="change_feedback", defaults={"name": "Can change feedback"}
    )
    group = Group.objects.create(name="feedback-clerks")
    group.permissions.add(change)
    ids = sorted(Feedback.objects.values_list("id", flat=True))

    new = _migrate(latest)
    assert sorted(new.get_model("feedback", "Feedback").objects.values_list("id", flat=True)) == ids
    assert new.get_model("feedback", "Callback").objects.count() == 1
    assert new.get_model("feedback", "ExternalBenchmarkRow").objects.get().satisfaction_rate == 0.8
    assert new.get_model("feedback", "Feedback").objects.filter(description="投诉 24", owner__name="张三").exists()
    moved = new.get_model("contenttypes", "ContentType").objects.get(pk=feedback_type.pk)
    assert (moved.app_label, moved.model) == ("feedback", "feedback")
    perms = new.get_model("auth", "Group").objects.get(name="feedback-clerks").permissions.all()
    assert [(p.content_type.app_label, p.codename) for p in perms] == [("feedback", "change_feedback")]

    from django.contrib.auth.models import Group as LiveGroup

    from feedback.models import Feedback as LiveFeedback

    assert LiveFeedback.objects.count() == 25
    assert LiveGroup.objects.get(name="feedback-clerks").permissions.get().content_type.model_class() is LiveFeedback
