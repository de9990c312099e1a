"""The assistant: the tool-calling loop and the providers behind it (an LLM, or offline)."""

from __future__ import annotations

from typing import Any

from app.agent.loop import Provider


def make_provider(config: dict[str, Any]) -> Provider:
    """The provider `LLM_MODE` selects: "offline", or any OpenAI-compatible endpoint."""
    if config["LLM_MODE"] == "offline":
        from app.agent.offline.provider import OfflineProvider

        return OfflineProvider(pace_ms=config.get("OFFLINE_PACE_MS", 15))
    from app.agent.openai_provider import OpenAIProvider

    return OpenAIProvider(
        api_key=config["LLM_API_KEY"] or "not-needed",
        base_url=config["LLM_BASE_URL"],
        model=config["LLM_MODEL"],
        timeout=config["LLM_TIMEOUT"],
        max_retries=config["LLM_MAX_RETRIES"],
    )
