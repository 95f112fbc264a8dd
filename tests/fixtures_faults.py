"""A world of its own for the fault tests: a throw-away database, processes, and the faults.

The tasks under test run in child processes (`manage.py shell -c ...` or a real
`manage.py qcluster`) against `<test database>_faults`, a database created beside the test
database on the same server, migrated with `migrate_tenants` and seeded with
`seed_demo --no-leads`, and dropped at the end. Its files and mail go to a folder of its own.

The faults are made the way the processes would meet them, never by stopping the server (other
test runs share it):

- "the database restarted": `pg_terminate_backend` on every server process serving the child
  (found by the application name it connects with, PGAPPNAME), exactly what a client sees
  when the server restarts: the connection drops and its open transaction is rolled back;
- "in the middle": the test holds a row lock (`SELECT ... FOR UPDATE` in a transaction of its
  own) on a row the task needs, waits until the task's server process is blocked by it, and
  only then strikes;
- "the worker killed": SIGKILL to the cluster's worker process.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from bench import database as bench_database
from tests.fixtures_scale import ScratchDatabase, output_of

WAIT_SECONDS = 60


class FaultWorld:
    def __init__(self, data_dir: Path):
        self.database = ScratchDatabase("faults")
        self.data_dir = data_dir
        self.env = {**self.database.env, "NEXUSCORE_DATA_DIR": str(data_dir)}
        self.processes: list[subprocess.Popen] = []

    # --- the database -------------------------------------------------------------------------

    def connect(self, autocommit=True) -> psycopg.Connection:
        return psycopg.connect(self.database.url, autocommit=autocommit)

    def query(self, statement: str, params=None) -> list[tuple]:
        return self.database.query(statement, params)

    def value(self, statement: str, params=None):
        return self.query(statement, params)[0][0]

    def lock(self, statement: str, params=None) -> psycopg.Connection:
        """Run `SELECT ... FOR UPDATE` in a transaction left open; rollback() releases it."""
        holder = self.connect(autocommit=False)
        assert holder.execute(statement, params).fetchall(), f"nothing to lock: {statement}"
        return holder

    def backends(self, application_name: str) -> list[int]:
        rows = self.query(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            [self.database.name, application_name],
        )
        return [pid for (pid,) in rows]

    def wait_until_blocked(self, holder: psycopg.Connection, application_name: str) -> int:
        """Wait until a server process of `application_name` waits for `holder`'s lock."""
        holder_pid = holder.info.backend_pid
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            rows = self.query(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s"
                " AND %s = ANY(pg_blocking_pids(pid))",
                [self.database.name, application_name, holder_pid],
            )
            if rows:
                return rows[0][0]
            for process in self.processes:
                if process.application_name == application_name:
                    assert process.poll() is None, f"the child ended early: {self.log(process)}"
            time.sleep(0.05)
        raise AssertionError(f"no process of {application_name} was blocked by the lock")

    def restart_database(self, application_name: str) -> int:
        """What a client sees of a database restart: its server processes end mid-statement."""
        rows = self.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = %s",
            [self.database.name, application_name],
        )
        return sum(1 for (done,) in rows if done)

    # --- processes ----------------------------------------------------------------------------

    def run(self, code: str, **env) -> str:
        """Run `manage.py shell -c code` to the end; its standard output."""
        result = self.database.manage("shell", "-c", code, env={**self.env, **env})
        assert result.returncode == 0, output_of(result)
        return result.stdout

    def start(self, arguments: list[str], application_name: str, **env) -> subprocess.Popen:
        """Start `manage.py <arguments>`, connecting as `application_name`; output to a file."""
        log = self.data_dir / f"{application_name}-{len(self.processes)}.log"
        process = subprocess.Popen(
            [sys.executable, "manage.py", *arguments],
            cwd=bench_database.BASE_DIR,
            env={**self.env, "PGAPPNAME": application_name, **env},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the cluster's children are stopped with its group
        )
        process.log_path = log
        process.application_name = application_name
        self.processes.append(process)
        return process

    def start_task(self, code: str, application_name: str) -> subprocess.Popen:
        return self.start(["shell", "-c", code], application_name)

    @staticmethod
    def log(process: subprocess.Popen) -> str:
        return process.log_path.read_text()

    def finish(self, process: subprocess.Popen) -> str:
        """Wait for a child to end well; its output."""
        try:
            process.wait(timeout=WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.stop(process)
            raise AssertionError(f"the child did not finish: {self.log(process)}") from None
        assert process.returncode == 0, self.log(process)
        return self.log(process)

    def wait_for_log(self, process: subprocess.Popen, pattern: str) -> re.Match:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log(process))
            if found:
                return found
            assert process.poll() is None, self.log(process)
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} never appeared: {self.log(process)}")

    def wait_until(self, condition, what: str, seconds: float = WAIT_SECONDS) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.2)

    @staticmethod
    def stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            except ProcessLookupError:
                pass

    def outbox(self) -> list[str]:
        folder = self.data_dir / "outbox"
        return [path.read_text(errors="replace") for path in sorted(folder.glob("*.eml"))]


@pytest.fixture(scope="module")
def fault_world(tmp_path_factory):
    world = FaultWorld(tmp_path_factory.mktemp("faults"))
    world.database.create()
    try:
        result = world.database.manage("migrate_tenants", env=world.env)
        assert result.returncode == 0, output_of(result)
        result = world.database.manage("seed_demo", "--no-leads", env=world.env)
        assert result.returncode == 0, output_of(result)
        yield world
    finally:
        for process in world.processes:
            world.stop(process)
        world.database.drop()


def as_json(output: str):
    """The last line of a child's output, read as JSON."""
    return json.loads(output.strip().splitlines()[-1])
