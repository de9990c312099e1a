"""Server-Sent Events framing: the one place that turns events into bytes on the wire."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

KEEPALIVE = ": keep-alive\n\n"


@dataclass(slots=True)
class Event:
    """One event of a stream; `seq` counts from 1 with no gaps.

    `payload` is the JSON of the event's data, encoded once when published and reused by every
    reader and every replay. Not frozen, though never changed: readers build one per event they
    read, and a frozen dataclass's `__init__` costs three times as much (bench/chunk_cost.py).
    """

    seq: int
    name: str
    payload: str

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.payload)

    def frame(self, stream_id: str) -> str:
        # JSON never contains a raw newline, so the data fits on one line.
        return f"id: {stream_id}:{self.seq}\nevent: {self.name}\ndata: {self.payload}\n\n"


# One encoder for every event: `json.dumps` with options builds a new JSONEncoder per call,
# which was most of the cost of publishing a content event (bench/).
_ENCODER = json.JSONEncoder(separators=(", ", ": "), ensure_ascii=False)
encode_string = json.encoder.encode_basestring  # a str as a JSON string literal, in C


def encode(data: dict[str, Any]) -> str:
    return _ENCODER.encode(data)


def retry_field(milliseconds: int) -> str:
    return f"retry: {milliseconds}\n\n"


def parse_last_event_id(value: str | None, stream_id: str) -> int:
    """The seq after which to resume, from `Last-Event-ID` (`<stream_id>:<seq>`); 0 if none.

    A bare number is accepted too. An id of another stream, or garbage, replays from the start:
    the client then gets everything rather than a silent gap.
    """
    if not value:
        return 0
    owner, _, seq = value.strip().rpartition(":")
    if owner and owner != stream_id:
        return 0
    try:
        return max(int(seq), 0)
    except ValueError:
        return 0
