"""WSGI entry of the analytics MCP service (gunicorn -c gunicorn.conf.py mcp_analytics.wsgi:app)."""

from mcp_analytics import create_app

app = create_app()
