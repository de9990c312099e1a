"""Classifying upstream LLM failures into the `error` event's `code` and `retryable`."""

from __future__ import annotations

import httpx2
import openai

from app.agent.events import AgentError


class TruncatedStream(openai.OpenAIError):
    """The upstream ended the stream cleanly, but before the model's finish_reason."""


def classify(error: BaseException) -> AgentError:
    """Map an exception from the openai SDK (or its transport) to a user-facing error."""
    if isinstance(error, openai.APITimeoutError | httpx2.TimeoutException):
        return AgentError("llm_timeout", "The language model took too long to answer.", True)
    if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
        return AgentError(
            "llm_auth", "The language model refused our credentials; check the API key.", False
        )
    if isinstance(error, openai.RateLimitError):
        return AgentError(
            "llm_rate_limited", "The language model is rate limiting us; try again shortly.", True
        )
    if isinstance(error, openai.APIStatusError):
        if error.status_code >= 500:
            return AgentError(
                "llm_server_error",
                f"The language model failed ({error.status_code}); try again.",
                True,
            )
        return AgentError(
            "llm_bad_request",
            f"The language model rejected the request ({error.status_code}).",
            False,
        )
    network = (openai.APIConnectionError, httpx2.TransportError, openai.APIError, TruncatedStream)
    if isinstance(error, network):
        return AgentError(
            "llm_network", "The connection to the language model was lost; try again.", True
        )
    return AgentError("internal_error", "Something went wrong while answering.", True)


# The exceptions `classify` understands; anything else is a bug and is logged as such.
UPSTREAM_ERRORS: tuple[type[BaseException], ...] = (openai.OpenAIError, httpx2.HTTPError)
