"""Evidence items with stable ids, and the register of what the tools returned during one investigation."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from pydantic import BaseModel, Field


class EvidenceItem(BaseModel):
    """One fact a tool read from stored data. Its id names where it comes from, so the same row is the same
    id in every investigation (`tx:1042`, `pattern:structuring`, `similar:CASE-2026-000031`)."""

    id: str
    kind: str
    summary: str
    data: dict[str, Any] = Field(default_factory=dict)


class ToolOutput(BaseModel):
    """What every tool returns: the evidence it found, and a one-line note."""

    tool: str
    note: str = ""
    evidence: list[EvidenceItem] = Field(default_factory=list)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class EvidenceRegister:
    """Every evidence item the tools returned in one investigation, in order, and the trace of the calls.

    Only ids in here may be cited: the server checks findings and proposals against it, whatever the chat
    model wrote.
    """

    def __init__(self) -> None:
        self.items: dict[str, EvidenceItem] = {}
        self.trace: list[dict] = []
        self.outputs: dict[str, ToolOutput] = {}

    def record(self, output: ToolOutput, *, arguments: dict, started: float) -> str:
        for item in output.evidence:
            self.items.setdefault(item.id, item)
        self.outputs[output.tool] = output
        text = output.model_dump_json()
        self.trace.append(
            {
                "tool": output.tool,
                "arguments": json.loads(json.dumps(arguments, default=str)),
                "evidence_ids": [item.id for item in output.evidence],
                "output_digest": digest(text),
                "ms": round((time.perf_counter() - started) * 1000, 1),
            }
        )
        return text

    def known(self, ids) -> tuple[list[str], list[str]]:
        """(ids an earlier tool returned, ids none did)."""
        ids = [str(i) for i in ids or []]
        return [i for i in ids if i in self.items], [i for i in ids if i not in self.items]

    def resolves(self, ids) -> bool:
        """Whether `ids` cite at least one item and every one of them is in the register."""
        known, unknown = self.known(ids)
        return bool(known) and not unknown

    def as_list(self) -> list[dict]:
        return [item.model_dump() for item in self.items.values()]
