"""Real processes for the production-stack, fault and backup tests: databases, Redis, workers, beat, gunicorn.

The processes never touch pytest's test database: each test works in its own PostgreSQL database, cloned from a
template that is migrated (and, for the large survey, seeded) once and reused while the migrations are unchanged.
Every process starts in its own session so that it, and anything it forked, can be stopped by its process group.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg

from tests.support import HUNG_SECONDS

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_SERVER = os.environ.get("TEST_POSTGRES_SERVER", "postgres://postgres@127.0.0.1:5432")
SEEDED_SURVEY = "fault-scale"
SEEDED_RESPONSES = 60_000
SEEDED_PROJECTS = 20


def database_url(name: str) -> str:
    return f"{PG_SERVER}/{name}"


def client_tools() -> tuple[list[str], dict[str, str]]:
    """Connection options and environment for PostgreSQL's own tools (pg_dump, createdb, pg_restore) on PG_SERVER."""
    server = urlsplit(PG_SERVER)
    options = ["-h", server.hostname or "127.0.0.1", "-p", str(server.port or 5432), "-U", unquote(server.username or "postgres")]
    env = dict(os.environ)
    if server.password:
        env["PGPASSWORD"] = unquote(server.password)
    return options, env


def admin() -> psycopg.Connection:
    return psycopg.connect(database_url("postgres"), autocommit=True)


def drop_database(name: str) -> None:
    with admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clone_database(name: str, template: str) -> str:
    drop_database(name)
    with admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


def query(name: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(database_url(name), autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


# What a seeded template's content depends on besides the migrations: the generator and the metrics code.
SEEDED_SOURCES = ("demo/scale.py", "satisfaction/metrics/*.py", "satisfaction/services.py", "satisfaction/selectors.py")


def _fingerprint(*, seeded: bool) -> str:
    digest = hashlib.sha256(f"{SEEDED_SURVEY}:{SEEDED_RESPONSES}:{SEEDED_PROJECTS}".encode() if seeded else b"")
    patterns = ["*/migrations/*.py", *(SEEDED_SOURCES if seeded else ())]
    for path in sorted(p for pattern in patterns for p in ROOT.glob(pattern)):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def base_env(db_name: str, **extra: str) -> dict[str, str]:
    """The environment of a production-like process on one database (no broker unless given)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "DATABASE_URL", "METRICS_"))}
    env |= {
        "DATABASE_URL": database_url(db_name),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
        "AXES_ENABLED": "0",
    }
    env |= extra
    return env


def manage(db_name: str, *args: str, env: dict | None = None, timeout: float = HUNG_SECONDS, check: bool = True):
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env or base_env(db_name),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def template_database(*, seeded: bool) -> str:
    """A migrated template, built once per migration state (concurrent sessions wait for it).

    ``seeded``: with survey ``SEEDED_SURVEY`` of ``SEEDED_RESPONSES`` responses and its snapshots computed.
    """
    name = f"csm_tpl_{'seeded' if seeded else 'migrated'}_{_fingerprint(seeded=seeded)}"
    with admin() as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [name])
        try:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists is None:
                prefix = name.rsplit("_", 1)[0] + "_"
                for (old,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [prefix + "%"]).fetchall():
                    conn.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
                building = name + "_building"
                conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
                if seeded:
                    conn.execute(f'CREATE DATABASE "{building}" TEMPLATE "{template_database(seeded=False)}"')
                    manage(
                        building, "seed_scale", "--survey", SEEDED_SURVEY,
                        "--responses", str(SEEDED_RESPONSES), "--projects", str(SEEDED_PROJECTS),
                    )
                    # The clean run's snapshots, by the single-task path: what every fault drill must get back to.
                    manage(building, "compute_metrics", "--survey", SEEDED_SURVEY)
                else:
                    conn.execute(f'CREATE DATABASE "{building}"')
                    manage(building, "migrate", "--noinput")
                conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [name])
    return name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(
    predicate: Callable[[], object],
    *,
    timeout: float = HUNG_SECONDS,
    interval: float = 0.2,
    what: str | Callable[[], str] = "condition",
):
    """Poll until ``predicate`` is true and return its value; ``timeout`` only stops a hung test.

    ``what`` names the wait in the failure message; a callable (a process's log) is read at the failure, not before.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what() if callable(what) else what}")
        time.sleep(interval)


class Process:
    """A child process in its own session, its output in a log file (shown when a test fails)."""

    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group: a crash, no chance to clean up."""
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 10) -> None:
        if self.alive():
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
            except ProcessLookupError:
                pass
        self._log.close()

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]


def start_redis(port: int, log_dir: Path) -> Process:
    """A private redis-server on a loopback port (never the machine's shared one), no persistence."""
    process = Process(
        f"redis-{port}",
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        os.environ.copy(),
        log_dir,
    )
    wait_for(lambda: port_open(port), what=f"redis on {port}")
    return process


def start_worker(name: str, env: dict, log_dir: Path) -> Process:
    args = [
        str(BIN / "celery"), "-A", "config", "worker", "--pool=solo", "--without-mingle",
        "--without-gossip", "--without-heartbeat", "--loglevel=INFO", "-n", f"{name}@%h",
    ]
    return Process(name, args, env, log_dir)


def start_beat(env: dict, log_dir: Path) -> Process:
    args = [str(BIN / "celery"), "-A", "config", "beat", "--loglevel=INFO", "--schedule", str(log_dir / "beat-schedule")]
    return Process("beat", args, env, log_dir)


def worker_ready(process: Process) -> bool:
    return "ready." in process.log()


def snapshot_rows(db_name: str) -> dict[str, list[tuple]]:
    """Every snapshot row's content (no ids, no timestamps), sorted: what a clean run must equal."""
    rows = {}
    for table, columns in {
        "satisfaction_metricsnapshot": "survey_id, port, project_id, stage, n, satisfied, satisfaction_rate, "
        "satisfaction_ci_low, satisfaction_ci_high, mean_score, loyalty_base, loyal, loyalty_rate, loyalty_ci_low, "
        "loyalty_ci_high",
        "satisfaction_itemsnapshot": "survey_id, question_code, port, project_id, stage, n, satisfied, "
        "satisfaction_rate, satisfaction_ci_low, satisfaction_ci_high, mean_score",
        "satisfaction_driversnapshot": "survey_id, port, project_id, question_code, pairs, importance, performance, "
        "n, concentrate_here",
    }.items():
        rows[table] = sorted(query(db_name, f"SELECT {columns} FROM {table}"), key=repr)
    return rows
