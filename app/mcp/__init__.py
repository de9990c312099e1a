"""MCP: the main app's client of the tool services, and the server machinery they share."""
