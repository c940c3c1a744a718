"""The MCP tools, one module per area; importing this package registers every tool (finobs.mcp.registry)."""

from finobs.mcp.tools import cases, investigations, scoring

__all__ = ["cases", "investigations", "scoring"]
