"""The backup and restore drill of README "Production": pg_dump -Fc, pg_restore into an empty database, compare."""

import json
import shutil
import subprocess

import pytest

from tests import stack
from tests.support import HUNG_SECONDS

pytestmark = pytest.mark.integration


def tables(db: str) -> list[str]:
    return [row[0] for row in stack.query(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]


def row_counts(db: str) -> dict[str, int]:
    return {table: stack.query(db, f'SELECT count(*) FROM "{table}"')[0][0] for table in tables(db)}


@pytest.fixture
def databases():
    source = stack.clone_database("csm_backup_source", stack.template_database(seeded=True))
    target = "csm_backup_restored"
    stack.drop_database(target)
    # Both are left in place afterwards for a look after a failure; the next run replaces them.
    return source, target


def test_a_custom_format_dump_restores_into_an_empty_database_with_every_row(databases, tmp_path):
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.fail("pg_dump and pg_restore must be installed (postgresql-client)")
    source, target = databases
    before = row_counts(source)
    assert before["surveys_response"] == stack.SEEDED_RESPONSES
    # The template's snapshots and run are there too, so every kind of table is exercised.
    assert before["satisfaction_metricsnapshot"] > 0 and before["satisfaction_metricrun"] > 0

    dump = tmp_path / "csm.dump"
    server, env = stack.client_tools()
    subprocess.run(["pg_dump", *server, "-Fc", "-f", str(dump), source], check=True, env=env, timeout=HUNG_SECONDS)
    subprocess.run(["createdb", *server, "-T", "template0", target], check=True, env=env, timeout=HUNG_SECONDS)
    subprocess.run(
        ["pg_restore", *server, "--no-owner", "--exit-on-error", "-j", "2", "-d", target, str(dump)],
        check=True, env=env, timeout=HUNG_SECONDS,
    )

    assert tables(target) == tables(source)
    assert row_counts(target) == before
    checksum = "SELECT md5(string_agg(questionnaire_no || answers || stage, ',' ORDER BY id)) FROM surveys_response"
    assert stack.query(target, checksum) == stack.query(source, checksum)
    # The restored database is complete for the application: no migration missing, and it serves its numbers.
    stack.manage(target, "migrate", "--check")
    exported = stack.manage(target, "export_metrics", "--survey", stack.SEEDED_SURVEY, "--format", "json").stdout
    rows = json.loads(exported)
    headline = next(r for r in rows if r["port"] is None and r["project"] is None and r["stage"] is None)
    assert headline["n"] == stack.SEEDED_RESPONSES
