"""The main app: accounts, the chat API with its event streams, and the agent behind it."""

from __future__ import annotations

from typing import Any

from flask import Flask, g


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with `overrides` (tests, tools) on top.

    Everything of the app is imported here rather than at the top of the package, so that
    importing the MCP server kit (`app.mcp`) loads nothing else of `app`.
    """
    from werkzeug.middleware.proxy_fix import ProxyFix

    from app.cors import init_cors
    from app.errors import register_error_handlers
    from app.metrics import init_rate_limited_count
    from app.observability import configure_logging, init_request_tracking
    from app.security_headers import init_security_headers
    from app.settings import ROOT, Settings
    from app.validation import init_validation

    config = Settings().app_config()
    config.update(overrides or {})
    app = Flask(
        __name__,
        instance_path=config["INSTANCE_PATH"],
        template_folder=str(ROOT / "templates"),
    )
    app.config.update(config)
    if app.config["PROXY_HOPS"]:
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    configure_logging(app.config["LOG_LEVEL"])
    init_request_tracking(app, "app", user_of=_logged_in_user_id)
    init_security_headers(app)
    _init_extensions(app)
    init_cors(app)
    register_error_handlers(app)
    init_rate_limited_count(app)
    init_validation(app)
    _init_chat(app)

    from app import auth, chat, health

    app.register_blueprint(auth.bp)
    app.register_blueprint(chat.bp)
    app.register_blueprint(health.bp)

    from app import api_docs

    app.register_blueprint(api_docs.bp)

    from app.cli import register_commands

    register_commands(app)
    return app


def _logged_in_user_id() -> str | None:
    """The user of this request if one was loaded; never triggers a load just to log it."""
    user = g.get("_login_user")
    return user.id if user is not None and user.is_authenticated else None


def _init_extensions(app: Flask) -> None:
    from sqlalchemy import event

    from app.auth.identity import init_identity
    from app.auth.keys import ServiceTokens, load_signing_keys
    from app.extensions import db, jwt, limiter, migrate
    from app.settings import ROOT

    keys = load_signing_keys(app.config["JWT_PRIVATE_KEY_PATH"])
    app.extensions["signing_keys"] = keys
    app.extensions["service_tokens"] = ServiceTokens(
        keys=keys,
        issuer=app.config["APP_URL"],
        audiences={
            "listings": app.config["MCP_LISTINGS_URL"],
            "analytics": app.config["MCP_ANALYTICS_URL"],
        },
        ttl_seconds=app.config["MCP_TOKEN_TTL"],
    )
    app_url = app.config["APP_URL"]
    app.config.update(
        # flask-jwt-extended only verifies user tokens; SigningKeys.sign issues them, with this
        # issuer and audience (the MCP services refuse tokens of this audience).
        JWT_ALGORITHM="RS256",
        JWT_DECODE_ISSUER=app_url,
        JWT_DECODE_AUDIENCE=app_url,
        JWT_TOKEN_LOCATION=["headers"],
        JWT_COOKIE_CSRF_PROTECT=False,  # tokens travel in headers only; CSRF is per session
    )
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    jwt.init_app(app)
    # Tokens signed by a retired key (still published in the JWKS) keep working after a
    # rotation, until they expire.
    jwt.decode_key_loader(lambda header, _claims: keys.verification_key(header.get("kid")))
    limiter.init_app(app)
    with app.app_context():
        event.listen(db.engine, "connect", _sqlite_pragmas)  # this app's engine, no other
    init_identity(app)


def _init_chat(app: Flask) -> None:
    """The broker, the runner, the MCP client and the LLM provider: one of each per process."""
    from app.agent import make_provider
    from app.agent.mcp_client import McpClient
    from app.chat.replies import ReplyLeases, store_reply
    from app.chat.runner import Runner
    from app.metrics import BrokerCollector
    from app.observability import init_metrics_endpoint
    from app.streaming.broker import Broker
    from app.streaming.memory import MemoryBroker
    from app.streaming.redis import RedisBroker

    broker: Broker
    if app.config["REDIS_URL"]:
        broker = RedisBroker(
            app.config["REDIS_URL"],
            replay_ttl=app.config["SSE_REPLAY_TTL"],
            prefix=app.config["REDIS_KEY_PREFIX"],
            max_connections=app.config["REDIS_MAX_CONNECTIONS"],
        )
    else:
        broker = MemoryBroker(replay_ttl=app.config["SSE_REPLAY_TTL"])
    app.extensions["broker"] = broker
    app.extensions["runner"] = Runner(app, broker, store_reply, ReplyLeases())
    tokens = app.extensions["service_tokens"]
    app.extensions["mcp_client"] = McpClient(
        tokens.audiences,
        mint_token=tokens.mint,
        timeout=app.config["MCP_TIMEOUT"],
    )
    app.extensions["llm_provider"] = make_provider(app.config)
    init_metrics_endpoint(app, extra=lambda: [BrokerCollector(broker.stats)])


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per SQLite connection: enforce ON DELETE CASCADE, and write-ahead logging.

    In the default rollback-journal mode every commit waits for an fsync, and since SQLite runs
    in the worker's thread that wait stalls every stream of the gevent worker (bench/ measured
    it as the largest per-reply cost). With WAL and `synchronous=NORMAL` a commit is a write to
    the log; a crash of the process loses nothing, a power cut may lose the last commits.
    Readers and the writer no longer block each other, across processes too.
    """
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
