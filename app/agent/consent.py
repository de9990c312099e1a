"""Consent before a tool acts outside the app (CONTRACT.md 6.3).

A tool whose MCP annotations do not say `readOnlyHint: true` (today `send_listing_report`,
which emails someone) runs only once the user has approved that call. The toolbox asks a reply's
`Consent` before it runs such a call: approved ahead (`"approve": [name]` in the request), the
call runs at once; a reader that cannot answer (`format=text`) declines it at once with a hint;
otherwise the stream gets an `approval` event and the call's greenlet waits (a gevent wait: the
hub keeps serving, and a cancel kills the greenlet) until the user answers through
`POST /agents/streams/<id>/approvals/<call_id>`, which reaches this process through the broker
(app/chat/runner.py), or until `APPROVAL_TIMEOUT` runs out, which declines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from gevent import Timeout
from gevent.event import AsyncResult

from app.agent.events import ApprovalRequested, ToolCallRequest

DECLINED = "declined"
DECLINED_FOR_MODEL = (
    "The user declined this action, so it was not performed. Tell the user it was not done."
)


def text_mode_hint(name: str) -> str:
    """What a terminal user reads about a call declined for want of a way to approve it."""
    return (
        f"{name} needs your approval, which a plain-text stream cannot ask for; to allow it, "
        f'send "approve": ["{name}"] in the request body.'
    )


@dataclass
class Consent:
    """The approvals of one reply: given ahead by name, or asked for one call at a time."""

    timeout: float
    interactive: bool = True  # False when the reader cannot answer (`format=text`)
    approved_ahead: frozenset[str] = frozenset()
    _pending: dict[str, AsyncResult] = field(default_factory=dict)

    @classmethod
    def of(cls, timeout: float, interactive: bool, approve: Iterable[str]) -> Consent:
        return cls(timeout, interactive, frozenset(approve))

    def decide(
        self, request: ToolCallRequest, announce: Callable[[ApprovalRequested], None]
    ) -> str | None:
        """None if the call may run; else why not (`declined`, or the text-mode hint).

        Blocks this greenlet only, until the user answers or the timeout declines.
        """
        if request.name in self.approved_ahead:
            return None
        if not self.interactive:
            return text_mode_hint(request.name)
        answer: AsyncResult = AsyncResult()
        self._pending[request.call_id] = answer
        try:
            announce(
                ApprovalRequested(
                    request.call_id, request.name, request.arguments or {}, round(self.timeout)
                )
            )
            approved = answer.get(timeout=self.timeout) if self.timeout > 0 else False
        except Timeout:  # no answer in time: declined
            approved = False
        finally:
            self._pending.pop(request.call_id, None)
        return None if approved else DECLINED

    def answer(self, call_id: str, approve: bool) -> bool:
        """The user's answer for one call; False if that call is not waiting (any more)."""
        pending = self._pending.get(call_id)
        if pending is None or pending.ready():
            return False
        pending.set(approve)
        return True
