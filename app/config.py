"""Every setting of the main app, read from the environment in one place.

`load_config()` returns a plain dict for `app.config`; `create_app(overrides)` lays test or
deployment overrides on top. Defaults give the embedded set-up of CONTRACT.md section 1: SQLite
under `instance/`, the in-process broker, the offline assistant when no LLM key is set.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = ROOT / "instance"


def _int(environ: dict[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    return int(raw) if raw else default


def _float(environ: dict[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    return float(raw) if raw else default


def _bool(environ: dict[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    return raw in {"1", "true", "yes", "on"} if raw else default


def _list(environ: dict[str, str], name: str) -> list[str]:
    return [item.strip() for item in environ.get(name, "").split(",") if item.strip()]


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


def llm_settings(environ: dict[str, str]) -> dict[str, Any]:
    """Which assistant runs: an OpenAI-compatible model when a key is set, else offline."""
    openai_key = environ.get("OPENAI_API_KEY", "").strip()
    openrouter_key = environ.get("OPENROUTER_API_KEY", "").strip()
    base_url = environ.get("OPENAI_BASE_URL", "").strip() or None
    api_key = openai_key or openrouter_key
    if not openai_key and openrouter_key and not base_url:
        base_url = "https://openrouter.ai/api/v1"
    mode = environ.get("LLM_MODE", "").strip().lower() or ("openai" if api_key else "offline")
    return {
        "LLM_MODE": mode,
        "LLM_API_KEY": api_key,
        "LLM_BASE_URL": base_url,
        "LLM_MODEL": environ.get("LLM_MODEL", "").strip() or "gpt-4o-mini",
        "LLM_TIMEOUT": _float(environ, "LLM_TIMEOUT", 60.0),
        "LLM_MAX_RETRIES": _int(environ, "LLM_MAX_RETRIES", 2),
    }


def load_config(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Build the app's settings from `environ` (os.environ by default)."""
    if environ is None:
        load_dotenv(ROOT / ".env", override=False)  # read when present, never required
    env = dict(os.environ if environ is None else environ)
    instance = Path(env.get("INSTANCE_PATH", "") or DEFAULT_INSTANCE).resolve()
    port = _int(env, "PORT", 3000)
    app_url = env.get("APP_URL", "").strip().rstrip("/") or f"http://127.0.0.1:{port}"
    redis_url = env.get("REDIS_URL", "").strip() or None
    redis_prefix = env.get("REDIS_KEY_PREFIX", "").strip() or "estate:"
    database_url = sqlalchemy_url(
        env.get("DATABASE_URL", "").strip() or f"sqlite:///{instance / 'app.db'}"
    )
    config: dict[str, Any] = {
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": env.get("SECRET_KEY") or persistent_secret(instance, "secret_key"),
        "APP_URL": app_url,
        "PORT": port,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # A server database may drop idle connections: test each one as it leaves the pool.
        # A SQLite file has no connection to lose, and the ping would cost a query per request.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": not database_url.startswith("sqlite")},
        "REDIS_URL": redis_url,
        # Every Redis key of the stream broker starts with this (several apps, one Redis).
        "REDIS_KEY_PREFIX": redis_prefix,
        # Redis connections per worker: each open stream's reader holds one while it waits.
        "REDIS_MAX_CONNECTIONS": _int(env, "REDIS_MAX_CONNECTIONS", 2500),
        # Reverse proxies in front (nginx: 1) whose X-Forwarded-For/-Proto are trusted, so that
        # per-IP limits see the client's address rather than the proxy's.
        "PROXY_HOPS": _int(env, "PROXY_HOPS", 0),
        # Request bodies: nothing the API accepts is anywhere near this.
        "MAX_CONTENT_LENGTH": _int(env, "MAX_BODY_BYTES", 1024 * 1024),
        # Cookies
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env, "SESSION_COOKIE_SECURE", False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool(env, "SESSION_COOKIE_SECURE", False),
        "WTF_CSRF_CHECK_DEFAULT": False,  # app/auth/csrf.py decides which requests need it
        "WTF_CSRF_TIME_LIMIT": None,  # valid for the session's life
        # Tokens
        "JWT_PRIVATE_KEY_PATH": env.get("JWT_PRIVATE_KEY_PATH", "").strip()
        or str(instance / "jwt-signing-key.pem"),
        "JWT_ACCESS_TOKEN_EXPIRES": _int(env, "ACCESS_TOKEN_EXPIRES", 3600),
        "API_TOKEN_DEFAULT_DAYS": _int(env, "API_TOKEN_DEFAULT_DAYS", 90),
        "MCP_TOKEN_TTL": min(_int(env, "MCP_TOKEN_TTL", 300), 300),
        "MCP_USER_TOKEN_TTL": _int(env, "MCP_USER_TOKEN_TTL", 900),
        "PASSWORD_HASH_PROFILE": env.get("PASSWORD_HASH_PROFILE", "default"),
        # Rate limits (Flask-Limiter syntax)
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_KEY_PREFIX": redis_prefix + "limits",
        # Flask-Limiter's headers would put its own Retry-After on every limited response, 2xx
        # included, over ours; app/errors.py gives a 429 the real wait instead.
        "RATELIMIT_HEADERS_ENABLED": False,
        "RATELIMIT_ENABLED": _bool(env, "RATELIMIT_ENABLED", True),
        "LOGIN_RATE_LIMIT_IP": env.get("LOGIN_RATE_LIMIT_IP", "20 per minute"),
        "LOGIN_RATE_LIMIT_ACCOUNT": env.get("LOGIN_RATE_LIMIT_ACCOUNT", "5 per minute"),
        "SIGNUP_RATE_LIMIT_IP": env.get("SIGNUP_RATE_LIMIT_IP", "10 per minute"),
        "SIGNUP_RATE_LIMIT_ACCOUNT": env.get("SIGNUP_RATE_LIMIT_ACCOUNT", "5 per minute"),
        "CHAT_RATE_LIMIT": env.get("CHAT_RATE_LIMIT", "30 per minute"),
        # MCP services
        "MCP_LISTINGS_URL": env.get("MCP_LISTINGS_URL", "").strip()
        or f"http://127.0.0.1:{_int(env, 'MCP_LISTINGS_PORT', 3001)}/mcp",
        "MCP_ANALYTICS_URL": env.get("MCP_ANALYTICS_URL", "").strip()
        or f"http://127.0.0.1:{_int(env, 'MCP_ANALYTICS_PORT', 3002)}/mcp",
        "MCP_TIMEOUT": _float(env, "MCP_TIMEOUT", 15.0),
        # Chat and streaming
        "CHAT_MAX_MESSAGE_CHARS": _int(env, "CHAT_MAX_MESSAGE_CHARS", 4000),
        "CHAT_HISTORY_MESSAGES": _int(env, "CHAT_HISTORY_MESSAGES", 20),
        "CHAT_MAX_CONCURRENT_PER_USER": _int(env, "CHAT_MAX_CONCURRENT_PER_USER", 3),
        "AGENT_MAX_STEPS": _int(env, "AGENT_MAX_STEPS", 5),
        "SSE_KEEPALIVE": _float(env, "SSE_KEEPALIVE", 30.0),
        "SSE_RETRY": _int(env, "SSE_RETRY", 3000),
        "SSE_TIMEOUT": _float(env, "SSE_TIMEOUT", 120.0),
        "SSE_DETACH_GRACE": _float(env, "SSE_DETACH_GRACE", 30.0),
        "SSE_REPLAY_TTL": _int(env, "SSE_REPLAY_TTL", 600),
        "CORS_ORIGINS": _list(env, "CORS_ORIGINS"),
        "METRICS_TOKEN": env.get("METRICS_TOKEN", "").strip() or None,
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO").upper(),
        "MORTGAGE_DEFAULT_RATE_PCT": _float(env, "MORTGAGE_DEFAULT_RATE_PCT", 6.5),
    }
    config.update(llm_settings(env))
    return config
