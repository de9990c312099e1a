"""WSGI entry of the listings MCP service (gunicorn -c gunicorn.conf.py mcp_listings.wsgi:app)."""

from mcp_listings import create_app

app = create_app()
