"""The management commands create_survey, compute_metrics and export_metrics (DESIGN.md §4)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from satisfaction.models import MetricSnapshot
from surveys.models import Question, Survey
from surveys.questionnaires import STANDARD
from tests.metrics_support import random_frame, survey_with_answers

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def test_create_survey_makes_a_survey_with_the_standard_questions_in_order(capsys):
    call_command("create_survey", "2026-annual", name="2026年度客户满意度调查")
    survey = Survey.objects.get(code="2026-annual")
    assert survey.name == "2026年度客户满意度调查" and survey.source == Survey.Source.COMPANY
    questions = list(Question.objects.filter(survey=survey).order_by("position").values_list("code", "kind", "port"))
    assert questions == [(q.code, q.kind, q.port) for q in STANDARD]
    assert "24 questions" in capsys.readouterr().out


def test_create_survey_twice_is_a_clear_error_and_changes_nothing():
    call_command("create_survey", "2026-annual", name="第一次")
    with pytest.raises(CommandError, match="调查编码“2026-annual”已存在"):
        call_command("create_survey", "2026-annual", name="第二次")
    assert Survey.objects.get(code="2026-annual").name == "第一次"
    assert Question.objects.filter(survey__code="2026-annual").count() == len(STANDARD)


def test_create_survey_refuses_an_unknown_source():
    with pytest.raises(CommandError, match="未知来源“rumour”"):
        call_command("create_survey", "x", name="x", source="rumour")
    assert not Survey.objects.exists()


def test_compute_metrics_writes_the_snapshots_and_says_how_many_responses(capsys):
    survey = survey_with_answers("2026-annual", random_frame(3, 120, projects=2))
    call_command("compute_metrics", survey="2026-annual")
    assert "from 120 responses" in capsys.readouterr().out
    headline = MetricSnapshot.objects.get(survey=survey, port="", project=None, stage="")
    assert headline.n == survey.responses.exclude(answers__startswith="-").count()


@pytest.mark.parametrize("command", ["compute_metrics", "export_metrics"])
def test_an_unknown_survey_is_a_command_error(command):
    options = {"survey": "nope"} if command == "compute_metrics" else {"survey": "nope", "format": "json"}
    with pytest.raises(CommandError, match="survey 'nope' does not exist"):
        call_command(command, **options)


def test_export_metrics_as_xlsx_needs_an_output_file():
    survey_with_answers("2026-annual", random_frame(3, 20, projects=1))
    with pytest.raises(CommandError, match="--output FILE is required"):
        call_command("export_metrics", survey="2026-annual", format="xlsx")


def test_export_metrics_to_an_unwritable_place_is_a_command_error(tmp_path):
    survey_with_answers("2026-annual", random_frame(3, 20, projects=1))
    with pytest.raises(CommandError, match="cannot write"):
        call_command("export_metrics", survey="2026-annual", format="json", output=str(tmp_path / "missing" / "x.json"))


def test_export_metrics_writes_the_same_json_to_a_file_as_to_stdout(tmp_path, capsys):
    survey = survey_with_answers("2026-annual", random_frame(3, 60, projects=2))
    call_command("compute_metrics", survey=survey.code)
    capsys.readouterr()
    call_command("export_metrics", survey=survey.code, format="json")
    printed = json.loads(capsys.readouterr().out)
    path = tmp_path / "rows.json"
    call_command("export_metrics", survey=survey.code, format="json", output=str(path))
    assert json.loads(path.read_text(encoding="utf-8")) == printed
    assert printed and printed[0]["port"] is printed[0]["project"] is printed[0]["stage"] is None


def database_url_for_a_subprocess(tmp_path: Path) -> str:
    """A database with the test schema that another process can open."""
    if connection.vendor == "sqlite":
        # The test database lives in memory: write its image to a file (the backup API would wait forever
        # for the test's open transaction).
        connection.ensure_connection()
        target = tmp_path / "copy.sqlite3"
        target.write_bytes(connection.connection.serialize())
        return f"sqlite:///{target}"
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return f"postgres://{settings['USER']}{password}@{settings['HOST']}:{settings['PORT'] or 5432}/{settings['NAME']}"


def test_manage_py_on_an_unknown_survey_exits_1_with_one_line_and_no_traceback(tmp_path):
    arguments = ["compute_metrics", "--survey", "nope"]
    env = {**os.environ, "DATABASE_URL": database_url_for_a_subprocess(tmp_path)}
    env.pop("CELERY_BROKER_URL", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *arguments], capture_output=True, text=True, env=env, timeout=60, cwd=ROOT
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == ["CommandError: survey 'nope' does not exist"]
    assert done.stdout == ""
