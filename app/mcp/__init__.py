"""MCP: the server kit both tool services share (protocol, tools, tokens, blueprint, factory).

It imports nothing of `app` outside `app.mcp` but the shared leaves `app.errors`, `app.bearer`,
`app.observability`, `app.security_headers` and `app.settings`, so a service loads no chat,
streaming, agent or account code (tests/integration/test_layers.py checks it). The main app's
MCP client is `app/agent/mcp_client.py`.
"""
