"""Listing reports by email: composed here, sent by SMTP or written to an outbox directory.

With `SMTP_URL` set (`smtp://[user:pass@]host[:port]`, `smtps://` for TLS from the start,
`smtp+starttls://` to upgrade), the report goes to that server; without it, it is written as
`<report_id>.eml` into the outbox directory (`instance/outbox/` by default), where any mail
client can open it. Either way the message is a real RFC 5322 message built by `email`.
smtplib talks through ordinary sockets, which gevent's monkey-patching makes cooperative.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from app.mcp.tools import ToolError
from app.settings import DEFAULT_INSTANCE
from mcp_listings.models import Listing

log = logging.getLogger(__name__)

DEFAULT_SENDER = "Estate Assistant <reports@estate-assistant.localhost>"
DEFAULT_PORTS = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}


@dataclass(frozen=True)
class ReportSettings:
    """Where reports go: an SMTP server if `smtp_url` is set, else the outbox directory."""

    smtp_url: str | None = None
    outbox_dir: Path = DEFAULT_INSTANCE / "outbox"
    sender: str = DEFAULT_SENDER
    timeout: float = 15.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ReportSettings:
        """From the service's config (app/settings.py): SMTP_URL, OUTBOX_DIR, REPORT_SENDER,
        SMTP_TIMEOUT."""
        return cls(
            smtp_url=config.get("SMTP_URL") or None,
            outbox_dir=Path(config.get("OUTBOX_DIR") or DEFAULT_INSTANCE / "outbox"),
            sender=config.get("REPORT_SENDER") or DEFAULT_SENDER,
            timeout=float(config.get("SMTP_TIMEOUT") or 15.0),
        )


def _money(amount: int) -> str:
    return f"${amount:,}"


def _rooms(listing: Listing) -> str:
    if listing.property_type == "land":
        return "land"
    beds = "studio" if listing.bedrooms == 0 else f"{listing.bedrooms} bd"
    return f"{beds} / {listing.bathrooms:g} ba"


def render_text(listings: Sequence[Listing]) -> str:
    """The report's body: one block per listing with price, address, rooms and size."""
    blocks = [f"Your listing report: {len(listings)} listing(s).", ""]
    for number, listing in enumerate(listings, start=1):
        blocks.append(
            f"{number}. {listing.listing_id}: {_money(listing.price)}, "
            f"{listing.property_type.replace('_', ' ')} ({listing.status})\n"
            f"   {listing.one_line_address()}\n"
            f"   {_rooms(listing)}, {listing.sqft:,} sqft, "
            f"{listing.days_on_market} days on market\n"
            f"   {listing.description}"
        )
    blocks += ["", "Sent by the Estate Assistant. Addresses and figures are illustrative."]
    return "\n".join(blocks) + "\n"


def compose(
    listings: Sequence[Listing], recipient: str, *, report_id: str, sender: str
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"Listing report: {len(listings)} listing(s)"
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=report_id, domain="estate-assistant.localhost")
    message["X-Report-Id"] = report_id
    message.set_content(render_text(listings))
    return message


def _send_smtp(message: EmailMessage, url: str, timeout: float) -> None:
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://[user:pass@]host[:port]")
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            parts.hostname, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(parts.hostname, port, timeout=timeout)
    with client:
        if parts.scheme == "smtp+starttls":
            client.starttls(context=ssl.create_default_context())
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(message)


def _write_outbox(message: EmailMessage, outbox: Path, report_id: str) -> Path:
    outbox.mkdir(parents=True, exist_ok=True)
    path = outbox / f"{report_id}.eml"
    partial = outbox / f".{report_id}.eml.tmp"
    partial.write_bytes(message.as_bytes())
    partial.replace(path)  # readers never see half a message
    return path


def send_report(
    listings: Sequence[Listing], recipient: str, settings: ReportSettings
) -> dict[str, Any]:
    """Compose and deliver the report; `{report_id, recipient, listing_count, delivered_via}`.

    A delivery failure is a ToolError the caller can act on, never a crash of the request.
    """
    report_id = f"rpt_{uuid.uuid4().hex[:20]}"
    message = compose(listings, recipient, report_id=report_id, sender=settings.sender)
    via: Literal["smtp", "outbox"]
    if settings.smtp_url:
        try:
            _send_smtp(message, settings.smtp_url, settings.timeout)
        except (OSError, smtplib.SMTPException, ValueError) as error:
            log.warning("report %s: SMTP delivery failed: %s", report_id, error)
            raise ToolError(f"the report could not be sent by email: {error}") from error
        via = "smtp"
    else:
        path = _write_outbox(message, settings.outbox_dir, report_id)
        log.info("report %s written to %s", report_id, path)
        via = "outbox"
    return {
        "report_id": report_id,
        "recipient": recipient,
        "listing_count": len(listings),
        "delivered_via": via,
    }
