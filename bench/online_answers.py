"""Benchmark: 50 owners answering online at once (goal: p95 ≤ 100 ms per page, 0 lost or duplicated responses).

    .venv/bin/python bench/online_answers.py                       # SQLite file bench/out/online.sqlite3
    .venv/bin/python bench/online_answers.py --database-url postgres://postgres@127.0.0.1:5432/postgres

Serves the app with gunicorn on 127.0.0.1 (2 gthread workers × 8 threads, keep-alive 30 s) against a fresh
database holding one wave, 2 × ``--owners`` invited owners and ``--others`` owners already answered by phone; the
numbers are kept by one real Celery worker on a private ``redis-server`` (``--broker eager``: inside each request,
as with no broker). Each owner, in a thread of its own, like a phone: opens the link (GET; the CSRF cookie arrives),
posts an answer (302), loads the thank-you page, opens the link again (the form shows the answer), posts a changed
answer, loads the thank-you page. Two runs, each with ``--owners`` fresh owners released together by a barrier:

- PACED (the figure for the goal): each owner spends ``--think`` seconds (± 50 %) on every page, as a person does;
- BURST: the six pages back to back with no pause — the server's saturation, where latency is mostly queueing.

Prints p50/p95/max per page kind, errors (socket errors, unexpected statuses) and the web server's CPU per page
(from /proc: unlike latency it hardly depends on what else the machine is doing), beside the same-run baseline
``/healthz`` (no session, template or query) fetched by as many threads back to back. Then checks against what the
threads posted: one response per owner (none lost, none duplicated), channel online, the changed answers stored,
two history rows each, and the wave's headline snapshot counting every response once (n and satisfied computed
independently from the posted scores), with the time the numbers took to catch up after the last answer.

Every owner here posts from 127.0.0.1, so the server runs with ``ONLINE_POSTS_PER_ADDRESS`` raised (the per-link
limit stays). Loopback only; gunicorn, the worker and redis are stopped by their own PIDs. With PostgreSQL the script drops and
recreates its own throwaway database ``csm_bench_online`` on that server and leaves the rest alone.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
BENCH_DB = "csm_bench_online"
HOST = "127.0.0.1"
SURVEY = "bench-online"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def database_env(args) -> dict[str, str]:
    if args.database_url:
        url = urlunparse(urlparse(args.database_url)._replace(path=f"/{BENCH_DB}"))
    else:
        OUT.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{OUT / 'online.sqlite3'}"
    return {"DATABASE_URL": url}


def prepare(args, env: dict[str, str]) -> list[str]:
    """A fresh database: one wave, its invited owners (their tokens returned) and others already answered."""
    if args.database_url:
        import psycopg

        with psycopg.connect(args.database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{OUT / 'online.sqlite3'}{suffix}").unlink(missing_ok=True)
    os.environ.update(env)
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from datetime import date

    from django.core.management import call_command
    from django.db import connections

    from online.services import invitations_issue
    from owners.models import Owner, Project
    from owners.stages import stage_as_of
    from satisfaction.services import metrics_compute
    from surveys.answers import encode_answers
    from surveys.models import Response
    from surveys.selectors import survey_answer_codes
    from surveys.services import survey_create

    call_command("migrate", verbosity=0)
    survey = survey_create(code=SURVEY, name="在线答卷压测", starts_on=date(2026, 1, 1))
    projects = [Project.objects.create(code=f"B{n}", name=f"压测楼盘{n}") for n in range(3)]
    rng = random.Random(7)
    # Owners already answered by phone, written in bulk (their history and metric requests are not the point).
    phone_owners = Owner.objects.bulk_create(
        Owner(project=projects[n % 3], unit=f"9-{n:04d}", name=f"电话业主{n}", move_in_date=date(2018 + n % 8, 1 + n % 12, 1))
        for n in range(args.others)
    )
    codes = survey_answer_codes(survey=survey)
    Response.objects.bulk_create(
        Response(survey=survey, owner=owner, project_id=owner.project_id, questionnaire_no=f"P-{n}",
                 surveyed_on=date(2026, 1, 5), stage=stage_as_of(owner.move_in_date, date(2026, 1, 5)), channel="phone",
                 answers=encode_answers(codes, {"overall": rng.randint(1, 5), "repurchase": 4, "recommend": 4}))
        for n, owner in enumerate(phone_owners)
    )  # fmt: skip
    invited = [
        Owner.objects.create(project=projects[n % 3], unit=f"1-{n:04d}", name=f"网络业主{n}",
                             move_in_date=None if n % 5 == 0 else date(2019 + n % 7, 1 + n % 12, 10))
        for n in range(2 * args.owners)  # half for the paced run, half for the burst
    ]
    tokens = [i.token for i in invitations_issue(survey=survey, owners=invited)]
    metrics_compute(survey_id=survey.pk)
    connections.close_all()
    return tokens


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    """One Celery worker on the filesystem transport, as ``make run`` starts it (no service to install)."""
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--without-mingle",
               "--without-gossip", "--without-heartbeat", "--loglevel=WARNING"]
    return subprocess.Popen(command, cwd=ROOT, env=os.environ | env, start_new_session=True)


def start_gunicorn(args, env: dict[str, str], port: int) -> subprocess.Popen:
    import requests

    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"{HOST}:{port}",
        "--workers", str(args.workers), "--worker-class", "gthread", "--threads", str(args.threads),
        "--backlog", "256", "--log-level", "warning",
        # Phones keep their connection while the owner reads; gunicorn's 2 s default would reset it under them.
        "--keep-alive", "30",
    ]  # fmt: skip
    child_env = os.environ | env | {
        "DJANGO_DEBUG": "0", "LOG_LEVEL": "WARNING", "ONLINE_POSTS_PER_ADDRESS": "100000",
    }  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=child_env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            if requests.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            time.sleep(0.2)
    stop(process)
    raise SystemExit("gunicorn did not answer /healthz within 30 s")


def server_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and their children so far (from /proc; as bench/dashboard_load.py):
    CPU per request does not depend on what else the machine is doing, unlike latency on a shared machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) in pids or int(fields[1]) in pids:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def scores_for(index: int, round_: int) -> dict[str, str]:
    """What owner ``index`` posts in round 0 (first answer) and round 1 (overall changed)."""
    overall = 1 + (index + 2 * round_) % 5
    return {"overall": str(overall), "repurchase": str(1 + index % 5), "recommend": str(1 + (index * 3) % 5),
            "design": "0", "engineering": str(1 + (index * 7) % 5)}


def owner_session(base: str, token: str, index: int, barrier: threading.Barrier, timings: dict, errors: list,
                  think: float) -> None:
    import requests

    session = requests.Session()
    rng = random.Random(index)

    def pause():
        if think > 0:  # reading the page, choosing the answers: a person, not a loop
            time.sleep(rng.uniform(0.5 * think, 1.5 * think))
    link = f"{base}/o/{token}/"

    def timed(kind: str, method: str, url: str, expect: int, **kwargs):
        started = time.perf_counter()
        try:
            response = session.request(method, url, allow_redirects=False, timeout=30, **kwargs)
        except requests.RequestException as exc:
            errors.append(f"{kind}: {exc}")
            return None
        timings.setdefault(kind, []).append(time.perf_counter() - started)
        if response.status_code != expect:
            errors.append(f"{kind}: HTTP {response.status_code}")
        return response

    barrier.wait()
    if think > 0:
        time.sleep(rng.uniform(0, think))  # opened at once, not in the same millisecond
    for round_ in (0, 1):
        page = timed("open", "GET", link, 200)
        if page is None or not (match := CSRF.search(page.text)):
            errors.append("open: no form")
            return
        pause()
        posted = timed("post", "POST", link, 302, data={"csrfmiddlewaretoken": match.group(1), **scores_for(index, round_)},
                       headers={"Referer": link})
        if posted is None:
            return
        timed("thanks", "GET", f"{link}thanks/", 200)
        pause()


def baseline(base: str, count: int, per_thread: int) -> list[float]:
    import requests

    timings: list[float] = []
    barrier = threading.Barrier(count)

    def run():
        session = requests.Session()
        barrier.wait()
        for _ in range(per_thread):
            started = time.perf_counter()
            session.get(f"{base}/healthz", timeout=30)
            timings.append(time.perf_counter() - started)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    return (f"n={len(ordered):4d}  p50 {statistics.median(ordered) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  "
            f"max {ordered[-1] * 1000:7.1f} ms")


def p95_of(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def verify(tokens: list[str], others: int) -> list[str]:
    """What the database holds against what the threads posted (this process, after gunicorn stopped)."""
    from online.models import SurveyInvitation
    from satisfaction.models import MetricSnapshot
    from surveys.models import Response, Survey

    survey = Survey.objects.get(code=SURVEY)
    problems = []
    by_token = {i.token: i for i in SurveyInvitation.objects.filter(survey=survey).select_related("response")}
    online = Response.objects.filter(survey=survey, channel="online")
    if online.count() != len(tokens):
        problems.append(f"{online.count()} online responses for {len(tokens)} owners")
    codes = [q.code for q in survey.questions.order_by("position") if q.kind != "comment"]
    satisfied = 0
    for index, token in enumerate(tokens):
        invitation = by_token[token]
        response = Response.objects.filter(survey=survey, owner_id=invitation.owner_id).first()
        if response is None:
            problems.append(f"owner {index}: lost")
            continue
        expected = scores_for(index, 1)
        stored = dict(zip(codes, response.answers, strict=False))
        for code, value in expected.items():
            want = "-" if value == "0" else value
            if stored.get(code) != want:
                problems.append(f"owner {index}: {code} is {stored.get(code)}, posted {want}")
        if response.history.count() != 2:
            problems.append(f"owner {index}: {response.history.count()} history rows, expected 2")
        satisfied += int(expected["overall"]) >= 4
    total = Response.objects.filter(survey=survey).count()
    if total != len(tokens) + others:
        problems.append(f"{total} responses in the wave, expected {len(tokens) + others}")
    phone_satisfied = sum(1 for r in Response.objects.filter(survey=survey, channel="phone") if r.answers[0] in "45")
    headline = MetricSnapshot.objects.filter(survey=survey, port="", project=None, stage="").first()
    if headline is None or headline.n != total or headline.satisfied != satisfied + phone_satisfied:
        problems.append(
            f"headline snapshot n={getattr(headline, 'n', None)} satisfied={getattr(headline, 'satisfied', None)}, "
            f"expected n={total} satisfied={satisfied + phone_satisfied}"
        )
    return problems


def expected_headline(tokens: list[str], others: int) -> tuple[int, int]:
    from surveys.models import Response, Survey

    survey = Survey.objects.get(code=SURVEY)
    phone = sum(1 for a in Response.objects.filter(survey=survey, channel="phone").values_list("answers", flat=True)
                if a[0] in "45")
    online = sum(1 for index in range(len(tokens)) if int(scores_for(index, 1)["overall"]) >= 4)
    return len(tokens) + others, phone + online


def wait_for_numbers(tokens: list[str], others: int, since: float, timeout: float = 60) -> float | None:
    """Seconds from the last answer until the wave's headline snapshot counts every response once (None: never)."""
    from satisfaction.models import MetricSnapshot

    n, satisfied = expected_headline(tokens, others)
    while time.perf_counter() - since < timeout:
        row = MetricSnapshot.objects.filter(survey__code=SURVEY, port="", project=None, stage="").values_list(
            "n", "satisfied").first()
        if row == (n, satisfied):
            return time.perf_counter() - since
        time.sleep(0.05)
    return None


def run_scenario(base: str, tokens: list[str], offset: int, think: float, server_pid: int) -> dict:
    timings: dict[str, list[float]] = {}
    errors: list[str] = []
    barrier = threading.Barrier(len(tokens))
    threads = [
        threading.Thread(target=owner_session, args=(base, token, offset + i, barrier, timings, errors, think))
        for i, token in enumerate(tokens)
    ]
    cpu_before = server_cpu_seconds([server_pid])
    wall = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    end = time.perf_counter()
    pages = sum(len(v) for v in timings.values())
    return {"timings": timings, "errors": errors, "wall": end - wall, "end": end,
            "cpu_per_page": (server_cpu_seconds([server_pid]) - cpu_before) / max(1, pages)}


def report(title: str, result: dict) -> float:
    timings = result["timings"]
    every = [t for values in timings.values() for t in values]
    print(f"\n{title} ({result['wall']:.1f} s wall)")
    for kind in ("open", "post", "thanks"):
        print(f"  {kind:7s} {summary(timings.get(kind, [0.0]))}")
    print(f"  {'all':7s} {summary(every)}")
    print(f"  errors: {len(result['errors'])}" + (f" — {result['errors'][:5]}" if result["errors"] else ""))
    print(f"  web server CPU per page: {result['cpu_per_page'] * 1000:.1f} ms")
    return max(p95_of(timings.get(kind, [0.0])) for kind in ("open", "post", "thanks"))


def start_redis() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, start_new_session=True)
    time.sleep(0.3)
    return process, f"redis://{HOST}:{port}/0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: a SQLite file)")
    parser.add_argument("--owners", type=int, default=50)
    parser.add_argument("--others", type=int, default=300, help="owners already answered by phone")
    parser.add_argument("--think", type=float, default=2.0,
                        help="mean seconds an owner spends on a page in the paced run (0.5–1.5 × this)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--broker", choices=["redis", "eager"], default="redis",
                        help="redis: a private redis-server and one Celery worker update the numbers (production); "
                             "eager: no broker, each answer's update runs inside its request")
    args = parser.parse_args()
    if args.broker == "redis" and not shutil.which("redis-server"):
        raise SystemExit("redis-server is needed (apt-get install redis-server), or pass --broker eager")
    env = database_env(args)
    started = time.perf_counter()
    tokens = prepare(args, env)
    paced, burst = tokens[: args.owners], tokens[args.owners:]
    print(f"prepared 2 × {args.owners} invited owners and {args.others} answered ones in "
          f"{time.perf_counter() - started:.1f} s")
    load = os.getloadavg()[0]
    server_env = dict(env)
    redis = worker = None
    if args.broker == "redis":
        redis, broker = start_redis()
        server_env["CELERY_BROKER_URL"] = broker
        worker = start_worker(server_env)
    port = free_port()
    server = start_gunicorn(args, server_env, port)
    base = f"http://{HOST}:{port}"
    try:
        paced_result = run_scenario(base, paced, 0, args.think, server.pid)
        caught_up = wait_for_numbers(tokens[: args.owners], args.others, paced_result["end"])
        burst_result = run_scenario(base, burst, args.owners, 0, server.pid)
        caught_up_burst = wait_for_numbers(tokens, args.others, burst_result["end"])
        cpu_before = server_cpu_seconds([server.pid])
        healthz = baseline(base, args.owners, per_thread=6)
        cpu_healthz = (server_cpu_seconds([server.pid]) - cpu_before) / len(healthz)
    finally:
        for process in (server, worker, redis):
            if process is not None:
                stop(process)
    print(f"\nload average {load:.1f} at the start; gunicorn {args.workers} gthread workers × {args.threads} threads; "
          f"numbers updated {'by one Celery worker (Redis broker)' if worker else 'inside each request (no broker)'}")
    worst = report(f"PACED: {args.owners} owners at once, each open → answer → thanks → open again → change → "
                   f"thanks, {args.think:.0f} s ± 50 % on each page", paced_result)
    worst_burst = report(f"BURST: {args.owners} more owners, the same six pages back to back with no pause "
                         "(saturation: latency here is mostly queueing)", burst_result)
    print(f"\nbaseline /healthz, {args.owners} threads back to back: {summary(healthz)}; CPU {cpu_healthz * 1000:.1f} ms")
    print(f"paced: worst page p95 {worst * 1000:.1f} ms (goal ≤ 100 ms) = {worst / p95_of(healthz):.1f} × the burst "
          f"/healthz p95; burst: worst page p95 {worst_burst * 1000:.1f} ms")
    for label, value in (("paced", caught_up), ("burst", caught_up_burst)):
        print(f"numbers after the {label} run: " + (f"the headline counted every answer {value:.2f} s after the last one"
                                                   if value is not None else "NOT caught up within 60 s"))
    problems = verify(tokens, args.others)
    print("database: " + ("0 lost, 0 duplicated, changed answers stored, history 2 rows each, headline counts each "
                          "response once" if not problems else f"{len(problems)} problems: {problems[:10]}"))
    if paced_result["errors"] or burst_result["errors"] or problems or caught_up is None or caught_up_burst is None:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
