"""gunicorn settings for every environment; each one can be overridden from the environment."""

import multiprocessing
import os
import shutil
import tempfile
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
# One line per request at LOG_LEVEL INFO or DEBUG (production's default); `make run` is quieter.
accesslog = "-" if os.environ.get("LOG_LEVEL", "INFO").upper() in ("INFO", "DEBUG") else None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# The control socket defaults to one path per user: several servers on a machine would collide.
control_socket_disable = True
# Load the app once in the master (imports, URL table, reference data) and fork warm workers.
preload_app = True


def _metrics_folder() -> str:
    """prometheus_client's multiprocess mode: each worker writes its metric values to files in
    PROMETHEUS_MULTIPROC_DIR and a scrape of any worker sums them. Set before the app (and so
    prometheus_client) is loaded; emptied at each start, as prometheus_client requires."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="sp-metrics-")
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        _created.append(folder)
    Path(folder).mkdir(parents=True, exist_ok=True)
    for stale in Path(folder).glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder


_created: list[str] = []  # the folder made here, removed when gunicorn exits
_metrics_folder()


def on_exit(_server) -> None:
    for folder in _created:
        shutil.rmtree(folder, ignore_errors=True)


def child_exit(_server, worker) -> None:
    """A worker that exits (max_requests, a crash) keeps its counted values; its live gauges go."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
