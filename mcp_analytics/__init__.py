"""The market analytics MCP service: markets, trends, comparisons, metrics, mortgages."""

from __future__ import annotations

from typing import Any

from flask import Flask

from app.mcp.service import create_service_app


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    from mcp_analytics import data, tools

    return create_service_app(
        "analytics",
        tools.registry,
        data.ensure_loaded,
        server_name="estate-analytics",
        instructions="Real-estate market analytics: market analysis, price trends, market "
        "comparisons, listing metrics and performance reports, mortgage estimates.",
        overrides=overrides,
    )
