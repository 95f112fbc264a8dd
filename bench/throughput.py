"""Requests per second of a signed-in organisation page against a bare Django view.

Both are served the same way: gunicorn, 2 sync workers, on 127.0.0.1 at a free port. wrk loads
each with 2 threads and 16 connections for 10 s after a 2 s warm-up, and wrk_report.lua prints the
request count and latency percentiles. The organisation page is the acme dashboard, signed in as
its owner; it is checked to answer 200 with the organisation's name before it is timed. Without
wrk (and when apt-get cannot install it) a Python load generator stands in, and every line says so.
"""

import hashlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from bench.report import BenchFailure, median, metric, p95, progress

BIN = Path(sys.executable).parent
BASE_DIR = Path(__file__).resolve().parent.parent
WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")
THREADS = 2
CONNECTIONS = 16
SECONDS = 10
WARM_UP_SECONDS = 2
RATIO_GOAL = 0.20
P95_GOAL_MS = 50

# The demo organisation and its owner, as manage.py seed_demo creates them.
TENANT_HOST = "acme.localhost"
ORGANISATION_NAME = "Acme Trading Pte. Ltd."
OWNER_EMAIL = "owner@acme.test"
PASSWORD = "nexuscore-demo"
LOGIN_PATH = "/accounts/login/"
SESSION_COOKIE = "nexuscore_session"


@dataclass
class Load:
    rps: float
    p50_ms: float
    p95_ms: float
    errors: int
    generator: str


# --- Serving ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(app: str, env: dict):
    """Serve `app` with 2 sync workers on a free loopback port; yield the port; always stop."""
    port = free_port()
    command = [str(BIN / "gunicorn"), app, "-w", "2", "-b", f"127.0.0.1:{port}"]
    with serving(command, env, port):
        yield port


@contextmanager
def serving(command: list[str], env: dict, port: int):
    """Run `command` (a server about to listen on `port`) until it answers; yield its process;
    always stop it."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_answering(port, process, log)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_answering(port: int, process: subprocess.Popen, log, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            fetch(port, "/health/", {"Host": f"127.0.0.1:{port}"})
            return
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)
    log.seek(0)
    tail = log.read().decode(errors="replace")[-3000:]
    raise BenchFailure(f"gunicorn on port {port} did not answer; its log ends:\n{tail}")


def fetch(port, path, headers, method="GET", body=None):
    """One request to 127.0.0.1:`port` (`headers` name the Host); returns (status, header
    pairs, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


# --- Signing in -------------------------------------------------------------------------------


def cookies_from(headers) -> dict[str, str]:
    jar = SimpleCookie()
    for name, value in headers:
        if name.lower() == "set-cookie":
            jar.load(value)
    return {key: morsel.value for key, morsel in jar.items()}


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def client_address_for(email: str) -> str:
    """An address of the benchmarking range (198.18.0.0/15) of one's own for each person."""
    digest = hashlib.sha256(email.encode()).digest()
    return f"198.{18 + digest[0] % 2}.{digest[1]}.{digest[2]}"


def sign_in(port: int, tenant_host: str = TENANT_HOST, email: str = OWNER_EMAIL) -> str:
    """Sign in on the organisation's host as `email` (its owner); return the Cookie header to
    send."""
    host = {"Host": f"{tenant_host}:{port}"}
    status, headers, _ = fetch(port, LOGIN_PATH, host)
    cookies = cookies_from(headers)
    if status != 200 or "csrftoken" not in cookies:
        raise BenchFailure(
            f"GET {LOGIN_PATH} on {tenant_host} answered {status} without a CSRF cookie"
        )
    form = {"login": email, "password": PASSWORD, "csrfmiddlewaretoken": cookies["csrftoken"]}
    headers = {
        **host,
        "Cookie": cookie_header(cookies),
        "Content-Type": "application/x-www-form-urlencoded",
        # Each person signs in from an address of their own, as 50 owners would: sign-in limits
        # count per address across every host, and the bench's servers trust one proxy
        # (bench_environment's TRUSTED_PROXY_COUNT).
        "X-Forwarded-For": client_address_for(email),
    }
    status, headers, _ = fetch(port, LOGIN_PATH, headers, method="POST", body=urlencode(form))
    cookies.update(cookies_from(headers))
    if status != 302 or SESSION_COOKIE not in cookies:
        raise BenchFailure(f"signing in as {email} answered {status} without a session")
    return cookie_header(
        {SESSION_COOKIE: cookies[SESSION_COOKIE], "csrftoken": cookies["csrftoken"]}
    )


def check_page(port: int, headers: dict[str, str], expected: str) -> None:
    """The page to be timed answers 200 and shows `expected` (not a redirect or an error)."""
    status, _, body = fetch(port, "/", headers)
    if status != 200 or expected.encode() not in body:
        raise BenchFailure(f"GET / answered {status} without {expected!r}; not timing it")


# --- Load -------------------------------------------------------------------------------------


def ensure_wrk() -> str | None:
    """wrk's path, installing Debian's package when it is missing and we may; else None."""
    if shutil.which("wrk"):
        return shutil.which("wrk")
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    progress("installing wrk with apt-get")
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
        subprocess.run(install, capture_output=True)
    return shutil.which("wrk")


def run_wrk(wrk: str, port: int, headers: dict[str, str], seconds: int, path: str = "/") -> Load:
    header_options = [
        option for name, value in headers.items() for option in ("-H", f"{name}: {value}")
    ]
    command = [
        wrk,
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "-s",
        str(WRK_SCRIPT),
        *header_options,
        f"http://127.0.0.1:{port}{path}",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchFailure(f"wrk failed:\n{result.stdout}{result.stderr}")
    values = {}
    for line in result.stdout.splitlines():
        name, _, number = line.partition(" ")
        if name.startswith("bench_"):
            values[name] = int(number)
    return Load(
        rps=values["bench_requests"] / (values["bench_duration_us"] / 1_000_000),
        p50_ms=values["bench_p50_us"] / 1000,
        p95_ms=values["bench_p95_us"] / 1000,
        errors=values["bench_errors"],
        generator=f"wrk -t{THREADS} -c{CONNECTIONS} -d{seconds}s",
    )


def python_client(port: int, path: str, headers: dict[str, str], deadline: float, tally) -> None:
    """One connection's requests until `deadline` (http.client reconnects after a close)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.monotonic() < deadline:
        start = time.perf_counter()
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            tally["errors"] += 1
            continue
        tally["latencies"].append((time.perf_counter() - start) * 1000)
        if response.status >= 400:
            tally["errors"] += 1
    connection.close()


def run_python_load(port: int, headers: dict[str, str], seconds: int, path: str = "/") -> Load:
    """The stand-in for wrk: CONNECTIONS threads, each a keep-alive http.client connection."""
    deadline = time.monotonic() + seconds
    tallies = [{"latencies": [], "errors": 0} for _ in range(CONNECTIONS)]
    threads = [
        threading.Thread(target=python_client, args=(port, path, headers, deadline, tally))
        for tally in tallies
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    latencies = [latency for tally in tallies for latency in tally["latencies"]]
    return Load(
        rps=len(latencies) / elapsed,
        p50_ms=median(latencies),
        p95_ms=p95(latencies),
        errors=sum(tally["errors"] for tally in tallies),
        generator=f"python threads, {CONNECTIONS} connections, {seconds}s (wrk unavailable)",
    )


def run_load(wrk: str | None, port: int, headers: dict[str, str], seconds: int, path="/") -> Load:
    if wrk:
        return run_wrk(wrk, port, headers, seconds, path)
    return run_python_load(port, headers, seconds, path)


def load(
    wrk: str | None, port: int, headers: dict[str, str], path: str = "/", seconds: int = SECONDS
) -> Load:
    """Warm up on `path` (the result is discarded), then measure for `seconds`."""
    run_load(wrk, port, headers, WARM_UP_SECONDS, path)
    return run_load(wrk, port, headers, seconds, path)


# --- The report -------------------------------------------------------------------------------


def measure_bare_view(env: dict, wrk: str | None) -> Load:
    bare_env = {name: value for name, value in env.items() if name != "DJANGO_SETTINGS_MODULE"}
    with gunicorn("bench.bare", bare_env) as port:
        headers = {"Host": f"127.0.0.1:{port}"}
        check_page(port, headers, "Hello from a bare Django view.")
        progress(f"loading the bare view for {SECONDS} s")
        return load(wrk, port, headers)


def measure_tenant_page(env: dict, wrk: str | None) -> Load:
    with gunicorn("nexuscore.wsgi", env) as port:
        headers = {"Host": f"{TENANT_HOST}:{port}", "Cookie": sign_in(port)}
        check_page(port, headers, ORGANISATION_NAME)
        progress(f"loading the acme dashboard for {SECONDS} s")
        return load(wrk, port, headers)


def report_load(prefix: str, result: Load, p95_goal=None, **rps_extra) -> None:
    """The _rps, _p50_ms and _p95_ms lines; `rps_extra` goes on the first (a goal, say)."""
    common = {"load_generator": result.generator, "errors": result.errors}
    metric(f"{prefix}_rps", round(result.rps, 1), "req/s", **common, **rps_extra)
    metric(f"{prefix}_p50_ms", round(result.p50_ms, 1), "ms", **common)
    metric(f"{prefix}_p95_ms", round(result.p95_ms, 1), "ms", at_most=p95_goal, **common)


def report(env: dict) -> None:
    wrk = ensure_wrk()
    if wrk is None:
        progress("wrk is unavailable: a Python load generator stands in (expect lower numbers)")
    bare = measure_bare_view(env, wrk)
    report_load("bare_view", bare)
    tenant = measure_tenant_page(env, wrk)
    report_load("tenant_page", tenant, p95_goal=P95_GOAL_MS)
    metric(
        "tenant_page_ratio",
        round(tenant.rps / bare.rps, 3),
        "ratio",
        at_least=RATIO_GOAL,
        note="tenant_page_rps / bare_view_rps, both served and loaded the same way",
    )
