"""The one settings model of all three processes: every setting, read from the environment.

`Settings()` reads the environment (and `.env` at the repository root when there is one; it is
never required). The main app takes `Settings().app_config()` as `app.config`, each MCP service
`Settings().service_config(name)`; `create_app(overrides)` lays test or deployment overrides on
top. Defaults give the embedded set-up: SQLite under `instance/`, the in-process broker, the
offline assistant when no LLM key is set. An empty variable means its default.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = ROOT / "instance"
OPENROUTER_URL = "https://openrouter.ai/api/v1"


# Settings the main app takes as they are, under their names in upper case.
APP_AS_IS = (
    "port",
    "redis_key_prefix",
    "redis_max_connections",
    "proxy_hops",
    "session_cookie_secure",
    "api_token_default_days",
    "mcp_user_token_ttl",
    "password_hash_profile",
    "ratelimit_enabled",
    "login_rate_limit_ip",
    "login_rate_limit_account",
    "signup_rate_limit_ip",
    "signup_rate_limit_account",
    "chat_rate_limit",
    "mcp_timeout",
    "chat_max_message_chars",
    "chat_history_messages",
    "chat_max_concurrent_per_user",
    "agent_max_steps",
    "sse_keepalive",
    "sse_retry",
    "sse_timeout",
    "sse_detach_grace",
    "sse_replay_ttl",
)


class Settings(BaseSettings):
    """Every environment variable the processes read, by its name (any case), with its default."""

    model_config = SettingsConfigDict(
        env_file=ROOT / ".env",
        extra="ignore",
        env_ignore_empty=True,
        str_strip_whitespace=True,
    )

    # Shared
    instance_path: Path = DEFAULT_INSTANCE
    app_url: str = ""
    log_level: str = "INFO"
    metrics_token: str = ""
    mcp_listings_url: str = ""
    mcp_analytics_url: str = ""
    mcp_listings_port: int = 3001
    mcp_analytics_port: int = 3002
    # The main app
    port: int = 3000
    secret_key: str = ""
    database_url: str = ""
    redis_url: str = ""
    redis_key_prefix: str = "estate:"  # every Redis key starts with it (several apps, one Redis)
    redis_max_connections: int = 2500  # per worker: each waiting reader holds one
    proxy_hops: int = 0  # trusted proxies in front (nginx: 1): per-IP limits see the client
    max_body_bytes: int = 1024 * 1024
    session_cookie_secure: bool = False
    jwt_private_key_path: str = ""
    access_token_expires: int = 3600
    api_token_default_days: int = 90
    mcp_token_ttl: int = 300
    mcp_user_token_ttl: int = 900
    password_hash_profile: str = "default"
    ratelimit_enabled: bool = True
    login_rate_limit_ip: str = "20 per minute"
    login_rate_limit_account: str = "5 per minute"
    signup_rate_limit_ip: str = "10 per minute"
    signup_rate_limit_account: str = "5 per minute"
    chat_rate_limit: str = "30 per minute"
    mcp_timeout: float = 15.0
    chat_max_message_chars: int = 4000
    chat_history_messages: int = 20
    chat_max_concurrent_per_user: int = 3
    agent_max_steps: int = 5
    sse_keepalive: float = 30.0
    sse_retry: int = 3000
    sse_timeout: float = 120.0
    sse_detach_grace: float = 30.0
    sse_replay_ttl: int = 600
    sse_coalesce_ms: int = 30
    approval_timeout: float = 60.0
    cors_origins: str = ""
    openai_api_key: str = ""
    openrouter_api_key: str = ""
    openai_base_url: str = ""
    llm_mode: str = ""
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = 60.0
    offline_pace_ms: int = 15  # the offline assistant's answer: one small piece per this many ms
    llm_max_retries: int = 2
    # The MCP services
    app_port: int = 3000
    mcp_listings_database_url: str = ""
    mcp_analytics_database_url: str = ""
    mcp_jwks_url: str = ""
    mcp_allowed_origins: str = ""
    outbox_dir: str = ""
    smtp_url: str = ""
    report_sender: str = ""
    smtp_timeout: float = 15.0
    mortgage_default_rate_pct: float = 6.5

    @property
    def instance(self) -> Path:
        return self.instance_path.resolve()

    def app_config(self) -> dict[str, Any]:
        """The main app's `app.config`."""
        instance = self.instance
        app_url = self.app_url.rstrip("/") or f"http://127.0.0.1:{self.port}"
        redis_url = self.redis_url or None
        database_url = sqlalchemy_url(self.database_url or f"sqlite:///{instance / 'app.db'}")
        config: dict[str, Any] = {name.upper(): getattr(self, name) for name in APP_AS_IS}
        config |= {
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": self.secret_key or persistent_secret(instance, "secret_key"),
            "APP_URL": app_url,
            "SQLALCHEMY_DATABASE_URI": database_url,
            # A server database may drop idle connections: test each one as it leaves the pool.
            # A SQLite file has no connection to lose, and the ping would cost a query per request.
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": not database_url.startswith("sqlite")},
            "REDIS_URL": redis_url,
            "MAX_CONTENT_LENGTH": self.max_body_bytes,  # nothing the API accepts comes near
            # Cookies
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": self.session_cookie_secure,
            "WTF_CSRF_CHECK_DEFAULT": False,  # app/auth/identity.py decides which requests need it
            "WTF_CSRF_TIME_LIMIT": None,  # valid for the session's life
            # Tokens
            "JWT_PRIVATE_KEY_PATH": self.jwt_private_key_path
            or str(instance / "jwt-signing-key.pem"),
            "JWT_ACCESS_TOKEN_EXPIRES": self.access_token_expires,
            "MCP_TOKEN_TTL": min(self.mcp_token_ttl, 300),
            # Rate limits (Flask-Limiter syntax)
            "RATELIMIT_STORAGE_URI": redis_url or "memory://",
            "RATELIMIT_KEY_PREFIX": self.redis_key_prefix + "limits",
            # Flask-Limiter's headers would put its own Retry-After on every limited response,
            # 2xx included, over ours; app/errors.py gives a 429 the real wait instead.
            "RATELIMIT_HEADERS_ENABLED": False,
            # MCP services
            "MCP_LISTINGS_URL": self.mcp_url("listings"),
            "MCP_ANALYTICS_URL": self.mcp_url("analytics"),
            # Content arriving within this many ms goes out as one `content` event (0: none).
            "SSE_COALESCE_MS": max(self.sse_coalesce_ms, 0),
            # Seconds a tool call that acts outside the app waits for approval (6.3).
            "APPROVAL_TIMEOUT": self.approval_timeout,
            "CORS_ORIGINS": _split(self.cors_origins),
            "METRICS_TOKEN": self.metrics_token or None,
            "LOG_LEVEL": self.log_level.upper(),
        }
        config.update(self.llm_config())
        return config

    def llm_config(self) -> dict[str, Any]:
        """Which assistant runs: an OpenAI-compatible model when a key is set, else offline."""
        api_key = self.openai_api_key or self.openrouter_api_key
        base_url = self.openai_base_url or None
        if not self.openai_api_key and self.openrouter_api_key and not base_url:
            base_url = OPENROUTER_URL
        return {
            "LLM_MODE": self.llm_mode.lower() or ("openai" if api_key else "offline"),
            "LLM_API_KEY": api_key,
            "LLM_BASE_URL": base_url,
            "LLM_MODEL": self.llm_model,
            "LLM_TIMEOUT": self.llm_timeout,
            "LLM_MAX_RETRIES": self.llm_max_retries,
            "OFFLINE_PACE_MS": self.offline_pace_ms,
        }

    def mcp_url(self, service: Literal["listings", "analytics"]) -> str:
        """A service's MCP URL: where the main app calls it and the audience of its tokens."""
        url = self.mcp_listings_url if service == "listings" else self.mcp_analytics_url
        port = self.mcp_listings_port if service == "listings" else self.mcp_analytics_port
        return url or f"http://127.0.0.1:{port}/mcp"

    def service_config(self, service: Literal["listings", "analytics"]) -> dict[str, Any]:
        """An MCP service's `app.config`; the names follow the main app's."""
        instance = self.instance
        app_url = self.app_url.rstrip("/") or f"http://127.0.0.1:{self.app_port}"
        database_url = (
            self.mcp_listings_database_url
            if service == "listings"
            else self.mcp_analytics_database_url
        )
        return {
            "SERVICE": f"mcp_{service}",
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": database_url or f"sqlite:///{instance / f'mcp_{service}.db'}",
            "MCP_RESOURCE_URL": self.mcp_url(service),
            "MCP_ISSUER": app_url,
            "MCP_JWKS_URL": self.mcp_jwks_url or f"{app_url}/.well-known/jwks.json",
            "MCP_ALLOWED_ORIGINS": self.mcp_allowed_origins or None,
            "MAX_CONTENT_LENGTH": 1024 * 1024,
            "OUTBOX_DIR": self.outbox_dir or str(instance / "outbox"),
            "SMTP_URL": self.smtp_url or None,
            "REPORT_SENDER": self.report_sender or None,
            "SMTP_TIMEOUT": self.smtp_timeout,
            "METRICS_TOKEN": self.metrics_token or None,
            "LOG_LEVEL": self.log_level.upper(),
        }


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def persistent_secret(instance: Path, filename: str) -> str:
    """A random secret generated once into `instance/` so that nobody types one by hand."""
    path = instance / filename
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(secrets.token_urlsafe(48))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # atomic: the first writer wins, later ones read its value
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the usual `postgresql://` form."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url
