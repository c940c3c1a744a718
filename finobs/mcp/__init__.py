"""The MCP server at /mcp: finobs' tools for AI assistants, over the Streamable HTTP transport.

Wiring on the top floor: each tool is a thin caller of an app's services and selectors (tools/), every
call passes one guard (registry.py), keys are checked as for the REST API (auth.py), and the endpoint
runs inside finobs' ASGI application (endpoint.py).
"""
