"""MCP: the server kit both tool services share (protocol, tools, tokens, blueprint, factory).

It imports nothing of `app` outside `app.mcp` but the shared leaves `app.errors`,
`app.observability`, `app.security_headers` and `app.config`, so a service loads no chat code.
"""
