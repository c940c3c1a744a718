"""The MCP tools and the one guard every call of them passes.

A tool is a typed, synchronous function `tool(key, **arguments) -> <pydantic model>` over an app's services
and selectors, registered with `@tools.tool(scope=..., title=...)`; its docstring is the description the
model reads, its parameters (with `Annotated[..., Field(description=...)]`) the input schema, its return
type the output schema. Adding a tool is one such function in a module of finobs/mcp/tools/.

Every call, whatever the tool: the key must carry the tool's scope (`read`, `ingest` or `investigate`; `mcp`
was checked for the whole endpoint); the key's budget for this tool (MCP_TOOL_RATE per key and tool, in the
cache: Redis when configured) must allow it, else the answer is a tool error with the seconds to wait; the
work runs on a worker thread, in the key's organisation, and gives back the database connections it opened
(finobs.mcp.threads); it is one span (`mcp.tool <name>`) and one observation of finobs_mcp_tool_calls_total /
_duration_seconds; a tool that writes leaves an audit event naming the key, the tool and what it did.
"""

from __future__ import annotations

import inspect
import logging
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

from audit.services import audit_log
from finobs.mcp.auth import key_of
from finobs.mcp.metrics import observe_tool_call
from finobs.mcp.threads import on_worker_thread
from kernel.cache import parse_rate_limit, rate_limit_hit
from kernel.errors import Conflict
from kernel.ratelimits import retry_after_s
from kernel.tracing import span
from organisations.context import organisation_context
from scoring.inference import NoChampionModel

logger = logging.getLogger(__name__)


class ToolRefused(Exception):
    """A tool's answer that the call cannot be done as asked (an unknown id, a value out of range); the
    message is for the model to read and act on."""


@dataclass(frozen=True)
class ToolSpec:
    name: str
    title: str
    scope: str  # the API key scope the tool needs besides `mcp`
    function: Callable  # function(key, **arguments) -> a pydantic model, run on a worker thread
    # For a tool that writes: what its audit event records of a result (None: the tool only reads).
    audit: Callable[[typing.Any], dict] | None = None
    idempotent: bool = True  # whether calling it twice with the same arguments does no more than once

    @property
    def writes(self) -> bool:
        return self.audit is not None


class ToolRegistry:
    def __init__(self):
        self._specs: dict[str, ToolSpec] = {}

    def tool(
        self, *, scope: str, title: str, audit: Callable[[typing.Any], dict] | None = None, idempotent: bool = True
    ):
        """Register the decorated function as a tool named after it (see the module)."""

        def register(function: Callable) -> Callable:
            if function.__name__ in self._specs:
                raise ValueError(f"Two MCP tools are named {function.__name__}.")
            self._specs[function.__name__] = ToolSpec(
                name=function.__name__, title=title, scope=scope, function=function, audit=audit, idempotent=idempotent
            )
            return function

        return register

    def specs(self) -> list[ToolSpec]:
        return list(self._specs.values())

    def install(self, server: MCPServer) -> None:
        for spec in self._specs.values():
            server.add_tool(
                _handler(spec),
                name=spec.name,
                title=spec.title,
                description=inspect.getdoc(spec.function),
                annotations=ToolAnnotations(
                    read_only_hint=not spec.writes,
                    destructive_hint=False,
                    # Ingesting a transaction twice stores it once (external_id); reads change nothing;
                    # asking for an investigation again starts another once the first has ended.
                    idempotent_hint=spec.idempotent,
                    open_world_hint=False,
                ),
                structured_output=True,
            )


tools = ToolRegistry()


def _handler(spec: ToolSpec) -> Callable:
    """The coroutine the SDK calls: the tool's parameters (its first, the key, replaced by the SDK's Context),
    so the SDK builds the same input and output schemas it would from the tool itself."""
    hints = typing.get_type_hints(spec.function, include_extras=True)
    parameters = list(inspect.signature(spec.function).parameters.values())[1:]
    parameters = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in parameters]
    parameters.append(inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context))

    async def handler(ctx: Context, **arguments):
        return await call_tool(spec, ctx, arguments)

    handler.__name__ = spec.name
    handler.__signature__ = inspect.Signature(parameters, return_annotation=hints["return"])
    handler.__annotations__ = {**{p.name: p.annotation for p in parameters}, "return": hints["return"]}
    return handler


async def call_tool(spec: ToolSpec, ctx: Context, arguments: dict):
    key = key_of(ctx)
    started = time.perf_counter()
    outcome = "error"
    with span(f"mcp.tool {spec.name}", tool=spec.name, api_key=key.prefix, organisation=key.organisation_id):
        try:
            if spec.scope not in key.scopes:
                outcome = "denied"
                raise ToolError(
                    f"This API key lacks the '{spec.scope}' scope that {spec.name} needs; "
                    f"ask an administrator of finobs for a key with it."
                )
            wait_s = await on_worker_thread(_rate_limit_wait, key, spec.name)
            if wait_s > 0:
                outcome = "limited"
                raise ToolError(
                    f"Rate limit reached: {settings.MCP_TOOL_RATE} calls of {spec.name} per API key. "
                    f"Retry after {retry_after_s(wait_s)} seconds."
                )
            try:
                result = await on_worker_thread(_run, spec, key, arguments)
            except (ToolRefused, ObjectDoesNotExist, ValueError, Conflict, NoChampionModel) as exc:
                outcome = "invalid"
                raise ToolError(str(exc)) from exc
            outcome = "ok"
            return result
        finally:
            observe_tool_call(tool=spec.name, outcome=outcome, seconds=time.perf_counter() - started)


def _rate_limit_wait(key, tool: str) -> float:
    limit, period_s = parse_rate_limit(settings.MCP_TOOL_RATE)
    try:
        return rate_limit_hit(f"mcp:{key.prefix}:{tool}:{limit}/{period_s}", limit=limit, period_s=period_s)
    except Exception:  # the cache (Redis) is down: a courtesy limit must not refuse calls
        logger.warning("MCP rate limit: cache unavailable, allowing the call", exc_info=True)
        return 0.0


def _run(spec: ToolSpec, key, arguments: dict):
    """The tool's work (on a worker thread), in the key's organisation, and its audit event if it writes."""
    with organisation_context(key.organisation):
        result = spec.function(key, **arguments)
        if spec.audit is not None:
            audit_log(
                actor=key,
                action=f"mcp.{spec.name}",
                object_type="source",
                object_id=key.source,
                payload={"tool": spec.name, **spec.audit(result)},
            )
        return result
