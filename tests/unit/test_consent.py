"""The consent of one reply (app/agent/consent.py): ahead, asked and answered, or timed out."""

from __future__ import annotations

import gevent

from app.agent.consent import DECLINED, Consent
from app.agent.events import ApprovalRequested, ToolCallRequest

CALL = ToolCallRequest("call_1", "send_listing_report", {"recipient_email": "a@b.c"}, "{}")


def test_a_call_approved_ahead_runs_without_asking() -> None:
    asked: list[ApprovalRequested] = []
    consent = Consent.of(60, interactive=True, approve=["send_listing_report"])
    assert consent.decide(CALL, asked.append) is None
    assert asked == []


def test_a_reader_that_cannot_answer_declines_at_once_with_a_hint() -> None:
    asked: list[ApprovalRequested] = []
    refusal = Consent.of(60, interactive=False, approve=[]).decide(CALL, asked.append)
    assert asked == []
    assert refusal is not None and '"approve": ["send_listing_report"]' in refusal


def test_the_call_waits_for_the_answer_without_blocking_others() -> None:
    consent = Consent.of(60, interactive=True, approve=[])
    asked: list[ApprovalRequested] = []
    waiting = gevent.spawn(consent.decide, CALL, asked.append)
    gevent.sleep(0)  # the waiting greenlet runs until it waits; this one goes on
    assert asked == [ApprovalRequested("call_1", "send_listing_report", CALL.arguments, 60)]
    assert not consent.answer("call_other", True)
    assert consent.answer("call_1", True)
    assert waiting.get(timeout=5) is None
    assert not consent.answer("call_1", False)  # answered already


def test_a_decline_and_no_answer_in_time_both_decline() -> None:
    consent = Consent.of(60, interactive=True, approve=[])
    waiting = gevent.spawn(consent.decide, CALL, lambda _: None)
    gevent.sleep(0)
    consent.answer("call_1", False)
    assert waiting.get(timeout=5) == DECLINED
    expiring = Consent.of(0.05, interactive=True, approve=[])
    assert expiring.decide(CALL, lambda _: None) == DECLINED
