"""gunicorn settings shared by the three processes; gevent is patched in before anything else.

Patching first matters: `ssl`, `socket` and friends must be gevent's before `requests`, `openai`
or the database drivers import them. Each process picks its port on the command line.
"""

from gevent import monkey

monkey.patch_all()

import gc  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '3000')}"
worker_class = "gunicorn_worker.GeventWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
# Each open event stream holds one connection: allow many per worker.
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", "2000"))
# With gevent, gunicorn's timeout is a liveness check of the worker loop, not of a request.
timeout = 30
graceful_timeout = 10
keepalive = 5
# gunicorn's control socket defaults to one path per user: the three processes (and test
# servers) would fight over it, and nothing here uses it.
control_socket_disable = True
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# prometheus-client's multi-process mode: every worker writes its metrics under this directory
# and /metrics sums them. Each gunicorn master gets a fresh directory of its own (under the
# given PROMETHEUS_MULTIPROC_DIR, if any), so the three processes never mix their counts.
_metrics_parent = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
if _metrics_parent:
    Path(_metrics_parent).mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="metrics-", dir=_metrics_parent)


def post_worker_init(worker: object) -> None:
    """Move everything loaded so far (modules, classes, the app) out of the garbage collector's
    sight: it lives as long as the worker, and every full collection walked all of it, pausing
    every stream of the worker (README, "Performance"). Garbage is collected first, so that
    none is kept for good."""
    gc.collect()
    gc.freeze()


def on_exit(server: object) -> None:
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def child_exit(server: object, worker: object) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
