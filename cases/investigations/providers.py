"""Chat models the agent runs on: the offline deterministic provider (the default: no key, no network), or
OpenAI / Anthropic when FINOBS_AGENT_PROVIDER and FINOBS_AGENT_MODEL say so (their packages are in
requirements-agent-providers.txt, not the base install)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

OFFLINE = "offline"
OFFLINE_MODEL = "finobs-offline-1"
REPORT_TOOL = "InvestigationReport"
# The tools the offline provider calls, in order, with their arguments; rule_draft follows when a fraud
# recommendation rests on a typology a rule can express.
PLAN = (
    ("case_context", {}),
    ("account_activity", {"hours": 72}),
    ("pattern_analysis", {}),
    ("similar_cases", {"k": 5}),
    ("reasoning", {"evidence_ids": []}),
    ("recommendation", {"evidence_ids": []}),
)
DRAFTABLE = ("structuring", "card_testing", "velocity_burst", "extreme_amount")


class OfflineChatModel(BaseChatModel):
    """A deterministic chat model with tool calling: it plans the tool sequence and writes the report from
    templates over what the tools returned. It reads the tools' structured fields only, never free text
    (comments, merchant names), so nothing in the data can steer it."""

    model_name: str = OFFLINE_MODEL

    @property
    def _llm_type(self) -> str:
        return "finobs-offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any):
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], tool_choice=tool_choice, **kwargs)

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs: Any) -> ChatResult:
        available = {tool["function"]["name"] for tool in kwargs.get("tools") or []}
        outputs = {m.name: _json(m.content) for m in messages if isinstance(m, ToolMessage)}
        step = len(outputs)
        for name, arguments in PLAN:
            if name in available and name not in outputs:
                return _call(name, arguments, step)
        recommendation = outputs.get("recommendation") or {}
        typology = _draftable(outputs.get("pattern_analysis") or {})
        wants_rule = (recommendation.get("recommendation") or {}).get("outcome") in {"confirmed_fraud", "sar_filed"}
        if wants_rule and typology and "rule_draft" in available and "rule_draft" not in outputs:
            return _call("rule_draft", {"typology": typology}, step)
        if REPORT_TOOL not in available:
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content="No report tool is bound."))])
        reasoning = outputs.get("reasoning") or {}
        actions = list(recommendation.get("actions") or [])
        draft = (outputs.get("rule_draft") or {}).get("action")
        if draft:
            actions.append(draft)
        report = {
            "narrative": reasoning.get("narrative", ""),
            "findings": reasoning.get("findings", []),
            "recommendation": recommendation.get("recommendation"),
            "actions": actions,
        }
        return _call(REPORT_TOOL, report, step)


def _call(name: str, arguments: dict, step: int) -> ChatResult:
    message = AIMessage(content="", tool_calls=[{"name": name, "args": arguments, "id": f"call_{step}_{name}"}])
    return ChatResult(generations=[ChatGeneration(message=message)])


def _json(content) -> dict:
    try:
        value = json.loads(content) if isinstance(content, str) else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _draftable(pattern_output: dict) -> str:
    matched = {
        item.get("data", {}).get("typology")
        for item in pattern_output.get("evidence", [])
        if item.get("data", {}).get("matched")
    }
    return next((t for t in DRAFTABLE if t in matched), "")


def provider_name() -> str:
    return settings.FINOBS_AGENT_PROVIDER


def chat_model() -> tuple[BaseChatModel, str, str]:
    """(the configured chat model, its provider, its model name)."""
    provider = settings.FINOBS_AGENT_PROVIDER
    name = settings.FINOBS_AGENT_MODEL
    timeout = settings.FINOBS_AGENT_TIMEOUT_S
    if provider == OFFLINE:
        return OfflineChatModel(model_name=name or OFFLINE_MODEL), provider, name or OFFLINE_MODEL
    if not name:
        raise ImproperlyConfigured(f"FINOBS_AGENT_PROVIDER={provider} needs FINOBS_AGENT_MODEL.")
    if provider == "openai":
        from langchain_openai import ChatOpenAI  # requirements-agent-providers.txt

        return ChatOpenAI(model=name, timeout=timeout, max_retries=1, temperature=0), provider, name
    if provider == "anthropic":
        from langchain_anthropic import ChatAnthropic  # requirements-agent-providers.txt

        return ChatAnthropic(model=name, timeout=timeout, max_retries=1, temperature=0), provider, name
    raise ImproperlyConfigured(f"Unknown FINOBS_AGENT_PROVIDER {provider!r}: offline, openai or anthropic.")
