"""The broker: where a generation publishes its numbered events and readers follow them.

Producer and readers share nothing but the broker, which is what makes resume, re-attach,
cancel, the detach grace and the health counts work without special cases. `MemoryBroker`
(app/streaming/memory.py) serves one process; `RedisBroker` (app/streaming/redis/, same
interface) serves several workers and hosts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.streaming.sse import Event

CancelHandler = Callable[[str], None]
ApprovalHandler = Callable[[str, str, bool], None]  # (stream id, call id, approved)


class BrokerError(Exception):
    """The broker cannot serve this stream now: Redis is unreachable, or the stream was closed
    or wiped under its producer (declared lost, or gone with a Redis restart)."""


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """Who a stream belongs to, fixed when the stream is created.

    `owner` is the user id (streams are counted per owner); `meta` is whatever the producer's
    side needs to know of the stream later, opaque to the broker.
    """

    stream_id: str
    owner: str
    meta: dict[str, str] = field(default_factory=dict)


# Called, in one process only, when a stream's producer died: (info, events so far, age in s).
LostHandler = Callable[[StreamInfo, list[Event], float], None]


class Broker(Protocol):
    kind: str

    def create(self, info: StreamInfo) -> None:
        """Register a new stream before its first event."""

    def publish(self, stream_id: str, name: str, data: dict[str, Any]) -> int:
        """Append an event (only the stream's producer calls this); returns its seq.

        BrokerError if the stream was closed or wiped under its producer, or the broker is
        unreachable; the Redis broker, which writes in the background, may tell only at the
        next `publish` or at `finish`.
        """

    def publish_encoded(self, stream_id: str, name: str, payload: str) -> int:
        """`publish` with the data already encoded as JSON (encoded once, by its event)."""

    def finish(self, stream_id: str) -> None:
        """The stream has published `done`: keep it replayable for the replay TTL, then drop it.

        BrokerError if some of its events could not be delivered.
        """

    def read(self, stream_id: str, after: int, timeout: float) -> list[Event] | None:
        """Events after seq `after`, waiting up to `timeout` for one; None if the stream is gone.

        A finished stream with nothing after `after` answers [] without waiting out `timeout`.
        """

    def info(self, stream_id: str) -> StreamInfo | None:
        """The stream's owner and ids, or None if it never existed or has expired."""

    def progress(self, stream_id: str) -> tuple[int, bool] | None:
        """(seq of the last event published, whether the stream is done), None if unknown."""

    def attach(self, stream_id: str) -> None:
        """A reader connected (counted for the detach grace and /sse/health)."""

    def detach(self, stream_id: str) -> None:
        """A reader went away."""

    def watch(self, stream_ids: list[str]) -> dict[str, int]:
        """For the producers' watcher, twice a second: renew the leases of these streams, all
        produced in this process, and count their readers in every process. A stream left out
        of the answer was closed or wiped under its producer, which must stop."""

    def on_lost(self, handler: LostHandler) -> None:
        """Register the handler that closes a stream whose producer died (its lease expired)."""

    def sweep_lost(self) -> None:
        """Close the streams whose producer died while nobody was reading them (the producers'
        housekeeper, app/chat/runner.py, calls this every few seconds in every process)."""

    def active_for(self, owner: str) -> int:
        """Streams of this owner still being produced, in every process."""

    def request_cancel(self, stream_id: str) -> None:
        """Ask the stream's producer, wherever it runs, to stop."""

    def on_cancel(self, handler: CancelHandler) -> None:
        """Register this process's handler for cancel requests (called with the stream id)."""

    def request_approval(self, stream_id: str, call_id: str, approve: bool) -> None:
        """Give the user's answer about one tool call to the stream's producer, wherever it
        runs (CONTRACT.md 6.3)."""

    def on_approval(self, handler: ApprovalHandler) -> None:
        """Register this process's handler for approval answers."""

    def stats(self) -> dict[str, int]:
        """`active_streams` (not yet done) and `connected_clients`, across every process."""
