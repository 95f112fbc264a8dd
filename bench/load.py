"""The load lines of the bench: NexusCore at 1,000 organisations, served the way the Procfile says.

1. `manage.py seed_scale` adds the organisations (scale0001 ... scale1000) to the bench database.
2. The Procfile's `web` line starts gunicorn (its workers, its access log) on a free port.
3. The owners of 50 organisations, spread over the 1,000, sign in.
4. Signed-in organisation pages alone (dashboard, leads, a search, usage; a different
   organisation each request), 16 connections: requests per second and latency beside a bare
   Django view served the same way in the same run. These carry the goals.
5. The mix, 16 connections at once: marketing pages (4), signed-in organisation pages (8),
   website-form posts spread over all 1,000 organisations (2) and signed Stripe webhook posts (2),
   each group in a wrk of its own so each has its own latency. No errors allowed. Meanwhile the
   database's connections are counted; afterwards the web workers' memory is read.

wrk's script (wrk_requests.lua) cycles through a file of requests, one a line.
"""

import hashlib
import hmac
import json
import os
import shlex
import subprocess
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import psycopg

from bench import throughput
from bench.report import BenchFailure, metric, progress

TENANTS = int(os.environ.get("NEXUSCORE_BENCH_TENANTS", "1000"))
SIGNED_IN = 50
TENANT_PAGES = ["/", "/leads/", "/leads/?q=tan", "/usage/"]
PUBLIC_PAGES = ["/", "/pricing/", "/features/", "/about/"]
POSTS = 3000
WEBHOOK_SECRET = "whsec_bench_load"
SCRIPT = Path(__file__).with_name("wrk_requests.lua")
REPORT_SCRIPT = throughput.WRK_SCRIPT  # wrk_requests.lua reports through it
# The mix: (group, connections). 16 in all, as everywhere in the bench.
MIX = [("public", 4), ("organisation", 8), ("capture", 2), ("webhook", 2)]


def slug(number: int) -> str:
    return f"scale{number:04d}"


# --- Serving as the Procfile does ---------------------------------------------------------------


def procfile_web_command() -> str:
    for line in (throughput.BASE_DIR / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").strip()
    raise BenchFailure("the Procfile has no web line")


@contextmanager
def procfile_web(env: dict):
    """Run the Procfile's web line (through sh, as a platform does) with PORT set; yield the port
    and the gunicorn master's process id."""
    port = throughput.free_port()
    command = procfile_web_command().replace("0.0.0.0:", "127.0.0.1:")
    environment = {**env, "PORT": str(port), "PATH": f"{throughput.BIN}:{env.get('PATH', '')}"}
    with throughput.serving(["sh", "-c", f"exec {command}"], environment, port) as process:
        yield port, process.pid


def worker_memory_mb(master_pid: int) -> list[float]:
    """The resident memory of each gunicorn worker (the master's children), in MB."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    sizes = []
    for child in children:
        for line in Path(f"/proc/{child}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(int(line.split()[1]) / 1024)
    return sizes


# --- The requests ---------------------------------------------------------------------------------


def line(method, path, host, cookie="-", body="-") -> str:
    return "\t".join([method, path, host, cookie or "-", body or "-"])


def organisation_requests(port: int) -> list[str]:
    step = max(1, TENANTS // SIGNED_IN)
    numbers = range(1, TENANTS + 1, step)[:SIGNED_IN]
    progress(f"signing in the owners of {len(numbers)} organisations")
    signed_in = []
    for number in numbers:
        host = f"{slug(number)}.localhost:{port}"
        cookie = throughput.sign_in(port, f"{slug(number)}.localhost", f"owner@{slug(number)}.test")
        signed_in.append((host, cookie.replace(" ", "")))
    # Page by page, organisation by organisation: consecutive requests differ in both.
    return [line("GET", page, host, cookie) for page in TENANT_PAGES for host, cookie in signed_in]


def public_requests(port: int) -> list[str]:
    return [line("GET", page, f"localhost:{port}") for page in PUBLIC_PAGES]


def capture_requests(port: int) -> list[str]:
    """Website-form posts, each a new person, spread over every organisation (so no
    organisation's rate limit for one address is reached)."""
    requests = []
    for n in range(POSTS):
        form = {
            "name": f"Load Person {n}",
            "email": f"load.person.{n}@example.sg",
            "consent": "on",
            "submission_key": uuid.uuid4().hex,
            "utm_source": "bench",
        }
        host = f"{slug(n % TENANTS + 1)}.localhost:{port}"
        requests.append(line("POST", "/f/contact/", host, body=urlencode(form)))
    return requests


def webhook_requests(port: int) -> list[str]:
    """Signed Stripe events, each with its own id (a type no handler takes: stored, queued and
    acknowledged, which is what Stripe waits for)."""
    now = int(time.time())
    requests = []
    for n in range(POSTS):
        event = {
            "id": f"evt_load_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": now,
            "type": "bench.load",
            "livemode": False,
            "data": {"object": {"id": f"obj_{n}", "object": "bench"}},
        }
        body = json.dumps(event, separators=(",", ":"))
        digest = hmac.new(
            WEBHOOK_SECRET.encode(), f"{now}.{body}".encode(), hashlib.sha256
        ).hexdigest()
        carried = f"stripe-signature=t={now},v1={digest}&{body}"
        requests.append(line("POST", "/webhooks/stripe/", f"localhost:{port}", body=carried))
    return requests


def write_requests(folder: Path, name: str, requests: list[str]) -> Path:
    path = folder / f"{name}.tsv"
    path.write_text("\n".join(requests) + "\n")
    return path


# --- Loading ------------------------------------------------------------------------------------


def wrk_command(wrk: str, port: int, connections: int, seconds: int) -> list[str]:
    threads = min(2, connections)
    return [
        wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", str(SCRIPT),
        f"http://127.0.0.1:{port}/",
    ]  # fmt: skip


def parse(output: str, generator: str) -> throughput.Load:
    values = {}
    for row in output.splitlines():
        name, _, number = row.partition(" ")
        if name.startswith("bench_"):
            values[name] = int(number)
    if "bench_requests" not in values:
        raise BenchFailure(f"wrk printed no results:\n{output}")
    return throughput.Load(
        rps=values["bench_requests"] / (values["bench_duration_us"] / 1_000_000),
        p50_ms=values["bench_p50_us"] / 1000,
        p95_ms=values["bench_p95_us"] / 1000,
        errors=values["bench_errors"],
        generator=generator,
    )


def run_groups(wrk: str, port: int, groups: dict, seconds: int) -> dict[str, throughput.Load]:
    """One wrk per group, all at once; {group: Load}."""
    running, commands = {}, {}
    for name, (path, connections) in groups.items():
        commands[name] = command = wrk_command(wrk, port, connections, seconds)
        running[name] = subprocess.Popen(
            command,
            env={**os.environ, "BENCH_REQUESTS": str(path), "BENCH_REPORT": str(REPORT_SCRIPT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    results = {}
    for name, process in running.items():
        output, _ = process.communicate()
        generator = shlex.join(commands[name][:4])
        results[name] = parse(output, f"{generator} ({groups[name][1]} of 16 connections)")
    return results


def count_connections(database_url: str, stop: threading.Event, counts: list[int]) -> None:
    with psycopg.connect(database_url, autocommit=True) as connection:
        while not stop.is_set():
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            ).fetchone()
            counts.append(row[0] - 1)  # not this one
            stop.wait(0.5)


# --- The report ---------------------------------------------------------------------------------


def report(env: dict, run_step) -> None:
    wrk = throughput.ensure_wrk()
    if wrk is None:
        raise BenchFailure("the load lines need wrk (apt-get install wrk)")
    started = time.monotonic()
    run_step(
        f"adding {TENANTS:,} organisations (seed_scale)",
        ["manage.py", "seed_scale", "--tenants", str(TENANTS), "--big-leads", "1000"],
        env,
    )
    progress(f"seed_scale took {time.monotonic() - started:.0f} s")
    bare = throughput.measure_bare_view(env, wrk)
    throughput.report_load("load_bare_view", bare)
    env = {**env, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_SECRET_KEY": "sk_test_bench"}
    seconds = throughput.SECONDS
    with procfile_web(env) as (port, master), tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        files = {
            "organisation": write_requests(folder, "organisation", organisation_requests(port)),
            "public": write_requests(folder, "public", public_requests(port)),
            "capture": write_requests(folder, "capture", capture_requests(port)),
            "webhook": write_requests(folder, "webhook", webhook_requests(port)),
        }
        progress(f"warming up, then loading organisation pages alone for {seconds} s")
        run_groups(wrk, port, {"organisation": (files["organisation"], 16)}, 2)
        alone = run_groups(wrk, port, {"organisation": (files["organisation"], 16)}, seconds)
        alone = alone["organisation"]
        throughput.report_load("load_organisation_pages", alone, p95_goal=throughput.P95_GOAL_MS)
        metric(
            "load_organisation_pages_ratio",
            round(alone.rps / bare.rps, 3),
            "ratio",
            at_least=throughput.RATIO_GOAL,
            note=f"signed-in pages of {SIGNED_IN} of {TENANTS:,} organisations / the bare view",
        )

        progress(f"loading the mix for {seconds} s")
        stop, counts = threading.Event(), []
        counter = threading.Thread(
            target=count_connections, args=(env["DATABASE_URL"], stop, counts)
        )
        counter.start()
        try:
            groups = {name: (files[name], connections) for name, connections in MIX}
            mixed = run_groups(wrk, port, groups, seconds)
        finally:
            stop.set()
            counter.join()
        memory = worker_memory_mb(master)

    for name, result in mixed.items():
        throughput.report_load(f"load_mix_{name}", result)
    metric(
        "load_mix_rps",
        round(sum(result.rps for result in mixed.values()), 1),
        "req/s",
        groups=dict(MIX),
    )
    metric(
        "load_mix_errors",
        sum(result.errors for result in mixed.values()),
        "responses",
        at_most=0,
        note="connection errors, timeouts and answers other than 2xx/3xx, all groups",
    )
    metric(
        "load_web_worker_rss_mb",
        round(max(memory), 1),
        "MB",
        workers=len(memory),
        each=[round(size, 1) for size in memory],
    )
    metric("load_database_connections", max(counts, default=0), "connections", note="peak")
