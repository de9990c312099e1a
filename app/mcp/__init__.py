"""MCP: the server kit both tool services share (protocol, tools, tokens, blueprint, factory).

It imports nothing of `app` outside `app.mcp` but the shared leaves `app.errors`, `app.bearer`,
`app.observability`, `app.security_headers` and `app.settings`, so a service loads no chat,
streaming, agent or account code (tests/test_layers.py checks it). `client.py`, the main app's
MCP client, only lives here until it moves to `app/agent/`; nothing in the kit imports it.
"""
