"""Benchmark: the port dashboard page and its JSON under 32 concurrent clients (goal: p95 ≤ 50 ms, 0 errors).

    .venv/bin/python bench/dashboard_load.py                       # SQLite file bench/out/dashboard.sqlite3
    .venv/bin/python bench/dashboard_load.py --database-url postgres://postgres@127.0.0.1:5432/postgres

Serves the app with gunicorn on 127.0.0.1 (4 gthread workers × 8 threads, keep-alive, unless told otherwise) against a database holding the
demo data set (``seed_demo``: six projects, two annual surveys, about 4,000 responses) plus, with
``--extra-projects``, synthetic projects, logs a management user in through the login form (session cookie),
then loads the page, then its JSON, for 30 s each in two ways:

- closed loop: ``wrk`` (apt-get install wrk; a Python thread client otherwise) with 32 connections, each asking
  again the moment it is answered — the server's saturation, where latency is mostly queueing
  (32 in flight ÷ requests per second);
- paced: 32 clients each asking once a second — 32 people using the dashboards at the same time;

and, as the baseline of the same run, ``/healthz`` closed loop: the same stack with no session, template or query.

Prints requests/s, p50/p95/p99 latency and errors (socket errors, non-200 answers) for each. With PostgreSQL the benchmark drops and recreates its own throwaway database ``csm_bench_dashboard``
on that server (``csm_bench`` belongs to the import benchmark) and leaves the rest alone.

Loopback only; every loop is bounded by ``--duration``; gunicorn is stopped by its own PID at the end.
To measure committed code while others edit the working tree, run it from an export:
``git archive HEAD | tar -x -C /tmp/csm && /work/main/.venv/bin/python /tmp/csm/bench/dashboard_load.py``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
BENCH_DB = "csm_bench_dashboard"
USERNAME = "bench_manager"
PASSWORD = "Bench-pass-2026!"
HOST = "127.0.0.1"

# wrk prints 50/75/90/99 % only; this script reports p95 (and counts non-200 answers, which wrk would not).
WRK_SCRIPT = r"""
local threads = {}
setup = function(thread) table.insert(threads, thread) end
init = function(args) bad = 0 end
response = function(status, headers, body) if status ~= 200 then bad = bad + 1 end end
done = function(summary, latency, requests)
  local bad_total = 0
  for _, t in ipairs(threads) do bad_total = bad_total + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    '\nRESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, ' ..
    '"not_200": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout, bad_total))
end
"""


def database_env(args) -> dict[str, str]:
    if args.database_url:
        server = urlparse(args.database_url)
        url = urlunparse(server._replace(path=f"/{BENCH_DB}"))
    else:
        OUT.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{OUT / 'dashboard.sqlite3'}"
    return {"DATABASE_URL": url}


def recreate_postgres(server_url: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def prepare_database(args, env: dict[str, str]) -> dict:
    """Migrate, load the demo data (and synthetic projects), create the benchmark user. Runs in this process."""
    if args.database_url and not args.reuse:
        recreate_postgres(args.database_url)
    elif not args.database_url and not args.reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{OUT / 'dashboard.sqlite3'}{suffix}").unlink(missing_ok=True)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from surveys.models import Response, Survey

    call_command("migrate", verbosity=0)
    if not Survey.objects.exists():
        started = time.perf_counter()
        call_command("seed_demo", verbosity=0)
        if args.extra_projects:
            from bench.dashboard_data import add_synthetic_projects

            add_synthetic_projects(count=args.extra_projects)
        print(f"seeded in {time.perf_counter() - started:.1f} s")
    user, _ = User.objects.get_or_create(username=USERNAME)
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name="management"))
    from django.db import connections

    from satisfaction.models import DriverSnapshot, ItemSnapshot, MetricSnapshot

    sizes = {
        "surveys": Survey.objects.count(),
        "responses": Response.objects.count(),
        "metric_snapshots": MetricSnapshot.objects.count(),
        "item_snapshots": ItemSnapshot.objects.count(),
        "driver_snapshots": DriverSnapshot.objects.count(),
        "survey": Survey.objects.order_by("-starts_on", "-id").values_list("code", flat=True).first(),
    }
    connections.close_all()
    return sizes


def free_port() -> int:
    """A loopback port nobody listens on (other people's servers may share this machine)."""
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_gunicorn(args, env: dict[str, str], port: int) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"{HOST}:{port}",
        "--workers", str(args.workers),
        "--worker-class", args.worker_class,
        "--threads", str(args.threads),
        "--backlog", "256",
        "--log-level", "warning",
    ]  # fmt: skip
    child_env = os.environ | env | {"DJANGO_DEBUG": "0", "LOG_LEVEL": "WARNING"}
    child_env.pop("CELERY_BROKER_URL", None)
    process = subprocess.Popen(command, cwd=ROOT, env=child_env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise SystemExit("gunicorn did not answer /healthz within 30 s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def server_cpu_seconds(master_pid: int) -> float:
    """User + system CPU time of gunicorn's master and workers so far (from /proc; 0 where unavailable).

    CPU per request does not depend on what else the machine is doing, unlike latency on a shared machine, so it
    tells what 2 dedicated cores can serve: requests/s ≈ 2 / (CPU per request).
    """
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == master_pid or ppid == master_pid:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def cookies_of(response) -> dict[str, str]:
    jar = {}
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            jar[name.strip()] = rest.split(";", 1)[0]
    return jar


def log_in(port: int) -> str:
    """Log in through the real form; returns the Cookie header of the session."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    page = response.read().decode()
    jar = cookies_of(response)
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    body = urlencode({"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token})
    conn.request(
        "POST", "/accounts/login/", body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={jar['csrftoken']}",
                 "Referer": f"http://{HOST}:{port}/accounts/login/"},
    )  # fmt: skip
    response = conn.getresponse()
    response.read()
    jar |= cookies_of(response)
    if response.status != 302 or "sessionid" not in jar:
        raise SystemExit(f"login failed: HTTP {response.status}")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def check(port: int, cookie: str, path: str) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    conn.request("GET", path, headers={"Cookie": cookie})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise SystemExit(f"{path}: HTTP {response.status} before the run")
    return len(body)


def run_wrk(port: int, cookie: str, path: str, args) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        command = [
            "wrk", f"-t{min(args.wrk_threads, args.connections)}", f"-c{args.connections}", f"-d{args.duration}s", "--timeout", "10s",
            "-s", script.name, "-H", f"Cookie: {cookie}", f"http://{HOST}:{port}{path}",
        ]  # fmt: skip
        output = subprocess.run(command, capture_output=True, text=True, timeout=args.duration + 60, check=True).stdout
    finally:
        os.unlink(script.name)
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    raw = json.loads(line[len("RESULT ") :])
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"] + raw["not_200"]
    return {
        "client": "wrk",
        "requests": raw["requests"],
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": errors,
    }


def run_threads(port: int, cookie: str, path: str, args) -> dict:
    """Fallback without wrk: one keep-alive connection per thread, as many requests as fit in the duration."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + args.duration

    def client():
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        mine, bad = [], 0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    bad += 1
            except OSError:
                bad += 1
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client) for _ in range(args.connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return {
        "client": "python-threads",
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(50),
        "p90_ms": percentile(90),
        "p95_ms": percentile(95),
        "p99_ms": percentile(99),
        "max_ms": latencies[-1] * 1000,
        "errors": errors[0],
    }


def run_paced(port: int, cookie: str, path: str, args) -> dict:
    """Each of the clients asks once every ``--think`` seconds (people reading a dashboard, not a flood):
    the latency a reader sees when 32 of them use the system at once."""
    import random

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    started_at = time.monotonic()
    stop_at = started_at + args.duration

    def client(offset: float):
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        next_at = started_at + offset
        mine, bad = [], 0
        while True:
            now = time.monotonic()
            if next_at >= stop_at:
                break
            if next_at > now:
                time.sleep(next_at - now)
            begun = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    bad += 1
            except OSError:
                bad += 1
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
            mine.append(time.perf_counter() - begun)
            next_at += args.think
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    rng = random.Random(1)
    threads = [threading.Thread(target=client, args=(rng.uniform(0, args.think),)) for _ in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else 0.0

    return {
        "client": f"python, one request per client every {args.think:g} s",
        "requests": len(latencies),
        "rps": len(latencies) / args.duration,
        "p50_ms": percentile(50),
        "p90_ms": percentile(90),
        "p95_ms": percentile(95),
        "p99_ms": percentile(99),
        "max_ms": latencies[-1] * 1000 if latencies else 0.0,
        "errors": errors[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL server (any database on it); default: SQLite file")
    parser.add_argument("--reuse", action="store_true", help="keep the existing benchmark database")
    parser.add_argument("--extra-projects", type=int, default=0, help="synthetic projects added to the demo data")
    parser.add_argument("--port", default="property", help="port dashboard to load (design … property)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--http-port", type=int, default=0, help="default: any free loopback port")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--mode", choices=["closed", "paced", "both"], default="both",
                        help="closed: every client asks again as soon as answered (wrk); paced: every --think s")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between a paced client's requests")
    parser.add_argument("--warmup", type=int, default=10, help="seconds of load before each measured URL")
    args = parser.parse_args()
    if args.duration > 600 or args.connections > 256:
        raise SystemExit("bounded run: at most 600 s and 256 connections")

    env = database_env(args)
    sizes = prepare_database(args, env)
    print(f"database: {env['DATABASE_URL'].split('@')[-1]}  " + "  ".join(f"{k}={v}" for k, v in sizes.items()))
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    runner = run_wrk if use_wrk else run_threads
    args.http_port = args.http_port or free_port()
    process = start_gunicorn(args, env, args.http_port)
    results = {}
    try:
        cookie = log_in(args.http_port)
        query = f"?survey={sizes['survey']}"
        paths = {
            "page": f"/dashboards/ports/{args.port}/{query}",
            "json": f"/dashboards/ports/{args.port}/data.json{query}",
            # Baseline in the same run: the cheapest URL of the same stack (no session, no template, no query),
            # i.e. the most this machine serves right now — what no page can beat.
            "floor": "/healthz",
        }
        modes = {"closed": runner, "paced": run_paced}
        chosen = ["closed", "paced"] if args.mode == "both" else [args.mode]
        for name, path in paths.items():
            size = check(args.http_port, cookie, path)
            # Warm-up: every worker imports the views and compiles the templates on its first requests (seconds on a
            # busy machine), and fills its panel cache; none of that belongs in the figures.
            runner(args.http_port, cookie, path, argparse.Namespace(**(vars(args) | {"duration": args.warmup})))
            for mode in chosen if name != "floor" else ["closed"]:
                load = os.getloadavg()[0]
                cpu_before = server_cpu_seconds(process.pid)
                result = modes[mode](args.http_port, cookie, path, args)
                cpu = server_cpu_seconds(process.pid) - cpu_before
                result["cpu_ms_per_request"] = cpu * 1000 / result["requests"] if result["requests"] else 0.0
                if process.poll() is not None:
                    raise SystemExit(f"gunicorn died during the run (exit {process.returncode})")
                if result["requests"] == 0:
                    result["errors"] += 1  # nothing answered: not a pass
                results[f"{name} {mode}"] = result | {"path": path, "bytes": size, "load_before": load}
    finally:
        stop(process)

    print(
        f"gunicorn {args.workers} × {args.worker_class}"
        + (f" ({args.threads} threads)" if args.worker_class == "gthread" else "")
        + f", {args.connections} concurrent clients, {args.duration} s each, {os.cpu_count()} CPUs"
    )
    goal_met = True
    for name, r in results.items():
        ok = r["p95_ms"] <= 50 and r["errors"] == 0
        if not name.startswith("floor"):
            goal_met &= ok
        print(
            f"{name:12} {r['path']}  ({r['bytes']} bytes, client {r['client']}, load avg before {r['load_before']:.1f})\n"
            f"      {r['requests']} requests, {r['rps']:.0f} req/s, p50 {r['p50_ms']:.1f} ms, p90 {r['p90_ms']:.1f} ms, "
            f"p95 {r['p95_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms, errors {r['errors']}"
            f"  → {'goal met' if ok else 'GOAL MISSED'} (p95 ≤ 50 ms, 0 errors)\n"
            f"      server CPU {r['cpu_ms_per_request']:.1f} ms per request"
            + (f" (≈ {2000 / r['cpu_ms_per_request']:.0f} req/s on 2 dedicated cores)" if r["cpu_ms_per_request"] else "")
        )
    sys.exit(0 if goal_met else 1)


if __name__ == "__main__":
    main()
