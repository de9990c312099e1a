"""gunicorn's gevent worker, telling the app's stream runner when the worker starts and stops.

gunicorn has no server hook for a worker's SIGTERM: its gevent worker only stops accepting and
waits `graceful_timeout` for open requests, then cuts them. A reply being written would be cut
with it, its message left `streaming` and its readers without `done`. This worker also tells
the runner (app/streaming/runner.py), which ends every running reply with a `shutting_down`
error and `done`, stores it, and writes its events out; the open event streams then end
cleanly, and the worker exits once they have. At start it lets the runner's housekeeper run, so
that a restarted worker closes the replies of the one that was killed.

`gunicorn.conf.py` selects it with `worker_class`.
"""

from __future__ import annotations

from types import FrameType
from typing import Any

import gevent
from gunicorn.workers import ggevent


class GeventWorker(ggevent.GeventWorker):
    _stopping_replies: gevent.Greenlet | None = None

    def _runner(self) -> Any:
        """The app's runner, if the app served is the main app (the MCP services have none)."""
        extensions = getattr(getattr(self, "wsgi", None), "extensions", None) or {}
        return extensions.get("runner")

    def _replies_timeout(self) -> float:
        # The master kills the worker `graceful_timeout` after its SIGTERM: finish before.
        return max(self.cfg.graceful_timeout - 2.0, 1.0)

    def run(self) -> None:
        runner = self._runner()
        if runner is not None:
            runner.serve()
        super().run()
        if runner is not None:  # also when the loop ended otherwise (the master went away)
            if self._stopping_replies is None:
                runner.shutdown(self._replies_timeout())
            else:
                self._stopping_replies.join(self._replies_timeout())

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        runner = self._runner()
        if runner is not None and self._stopping_replies is None:
            # Out of the signal handler, as gunicorn does for SIGQUIT: stopping blocks.
            self._stopping_replies = gevent.spawn(runner.shutdown, self._replies_timeout())
