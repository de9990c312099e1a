"""The listings MCP service: search listings, get one, send listing reports."""

from __future__ import annotations

from typing import Any

from flask import Flask

from app.mcp.service import create_service_app


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    from mcp_listings import data, tools

    return create_service_app(
        "listings",
        tools.registry,
        data.ensure_loaded,
        server_name="estate-listings",
        instructions="Real-estate listings: search homes for sale, get a listing's details, "
        "and email a report of listings.",
        overrides=overrides,
    )
