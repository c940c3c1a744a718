"""Prometheus metrics of MCP tool calls: how many, by tool and outcome, and how long, by tool."""

from prometheus_client import Counter, Histogram

# ok; denied (the key lacks the tool's scope); limited (the rate limit); invalid (the caller's mistake:
# arguments, an unknown id); error (finobs could not answer).
OUTCOMES = ("ok", "denied", "limited", "invalid", "error")

TOOL_CALLS = Counter(
    "finobs_mcp_tool_calls_total", "MCP tool calls answered, by tool and outcome.", ["tool", "outcome"]
)
TOOL_DURATION = Histogram(
    "finobs_mcp_tool_duration_seconds",
    "Time to answer an MCP tool call, by tool.",
    ["tool"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def observe_tool_call(*, tool: str, outcome: str, seconds: float) -> None:
    TOOL_CALLS.labels(tool, outcome).inc()
    TOOL_DURATION.labels(tool).observe(seconds)
