"""gunicorn's settings file, read by `gunicorn` from the working directory (Procfile, Dockerfile).

With PROMETHEUS_MULTIPROC_DIR set, every worker keeps its metrics in files there and /metrics
adds them up (nexuscore/lib/metrics.py). The files of a previous run are removed when the
server starts, as prometheus-client asks; files of processes still alive (a django-q2 worker
sharing the directory on this machine) are kept, or their counts would vanish.
"""

import os
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def on_starting(server):
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    for path in Path(directory).glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]  # counter_1234.db, histogram_1234.db
        if not (pid.isdigit() and _alive(int(pid))):
            path.unlink(missing_ok=True)


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
