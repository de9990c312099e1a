"""The one settings model: environment names, defaults, and what the three processes share."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    return monkeypatch


def test_an_empty_environment_gives_the_embedded_defaults(clean_env: pytest.MonkeyPatch) -> None:
    config = Settings(_env_file=None).app_config()

    assert config["APP_URL"] == "http://127.0.0.1:3000"
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert config["REDIS_URL"] is None
    assert config["LLM_MODE"] == "offline"
    assert config["MCP_LISTINGS_URL"] == "http://127.0.0.1:3001/mcp"
    assert config["CORS_ORIGINS"] == []
    assert config["SSE_TIMEOUT"] == 120.0


def test_values_are_parsed_and_empty_means_default(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    clean_env.setenv("SESSION_COOKIE_SECURE", "1")
    clean_env.setenv("MCP_TOKEN_TTL", "9999")
    clean_env.setenv("SSE_TIMEOUT", "")
    clean_env.setenv("DATABASE_URL", "postgresql://db/estate")
    clean_env.setenv("OPENROUTER_API_KEY", "k")

    config = Settings(_env_file=None).app_config()

    assert config["CORS_ORIGINS"] == ["https://a.example", "https://b.example"]
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["MCP_TOKEN_TTL"] == 300  # never longer than five minutes
    assert config["SSE_TIMEOUT"] == 120.0
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db/estate"
    assert (config["LLM_MODE"], config["LLM_BASE_URL"]) == (
        "openai",
        "https://openrouter.ai/api/v1",
    )


@pytest.mark.parametrize("service", ["listings", "analytics"])
def test_a_service_expects_the_audience_and_issuer_the_app_signs_with(
    clean_env: pytest.MonkeyPatch, service: str
) -> None:
    clean_env.setenv("APP_URL", "https://estate.example/")
    clean_env.setenv(f"MCP_{service.upper()}_PORT", "4100")
    settings = Settings(_env_file=None)

    app, served = settings.app_config(), settings.service_config(service)

    assert served["MCP_RESOURCE_URL"] == app[f"MCP_{service.upper()}_URL"]
    assert served["MCP_RESOURCE_URL"] == "http://127.0.0.1:4100/mcp"
    assert served["MCP_ISSUER"] == app["APP_URL"] == "https://estate.example"
    assert served["MCP_JWKS_URL"] == "https://estate.example/.well-known/jwks.json"


def test_a_dotenv_file_is_read_when_present(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("LLM_MODEL=local-model\nMORTGAGE_DEFAULT_RATE_PCT=5.25\n")

    settings = Settings(_env_file=env_file)

    assert settings.app_config()["LLM_MODEL"] == "local-model"
    assert settings.mortgage_default_rate_pct == 5.25
