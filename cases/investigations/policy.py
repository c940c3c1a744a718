"""What the agent may propose: the outcomes the evidence supports, narrowed to what the requester may do.

The server decides this from the evidence register alone (what the tools returned), never from the chat
model's text, so a model that obeys an instruction hidden in a comment or a merchant name cannot get an
unsupported proposal past it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cases.investigations.evidence import EvidenceRegister

CLOSE_OUTCOMES = ("confirmed_fraud", "sar_filed", "false_positive", "no_action")
OUTCOMES = (*CLOSE_OUTCOMES, "escalate", "request_information")
FRAUD_OUTCOMES = frozenset({"confirmed_fraud", "sar_filed", "escalate"})
LEGIT_OUTCOMES = frozenset({"false_positive", "no_action"})
# Typology strength at or above which the evidence supports calling it fraud, and below which it
# supports closing as a false positive (between the two: a person should look, so escalate).
FRAUD_AT = 0.7
CLEAR_BELOW = 0.3
# Typologies whose match supports a suspicious activity report (money laundering rather than card fraud).
SAR_TYPOLOGIES = frozenset({"structuring", "mule_fan_in", "mule_fan_out"})
# Permission a person needs to propose each outcome (and so to accept a proposal of it).
OUTCOME_PERMISSION = {
    "confirmed_fraud": "cases.propose_closure",
    "false_positive": "cases.propose_closure",
    "no_action": "cases.propose_closure",
    "sar_filed": "cases.file_sar",
    "escalate": "cases.escalate_case",
    "request_information": "cases.work_case",
}
ACTION_PERMISSION = {
    "close_as": "cases.propose_closure",
    "escalate": "cases.escalate_case",
    "assign": "cases.assign_case",
    "request_information": "cases.work_case",
    "draft_rule": "scoring.propose_rule",
}


@dataclass
class Assessment:
    """The evidence's own verdict: how strongly it points at fraud, and why."""

    strength: float
    supporting: list[str] = field(default_factory=list)  # evidence ids behind the strength
    clearing: list[str] = field(default_factory=list)  # evidence ids that speak for legitimate activity
    typologies: list[str] = field(default_factory=list)  # matched typology names
    is_thin: bool = False

    @property
    def supported_outcomes(self) -> set[str]:
        if self.is_thin:
            return {"request_information", "escalate"}
        if self.strength >= FRAUD_AT:
            supported = {"confirmed_fraud", "escalate", "request_information"}
            if SAR_TYPOLOGIES & set(self.typologies):
                supported.add("sar_filed")
            return supported
        if self.strength < CLEAR_BELOW:
            return {"false_positive", "no_action", "request_information"}
        return {"escalate", "request_information"}


def assess(register: EvidenceRegister) -> Assessment:
    """Read the register: matched typologies, rule hits and the outcomes of similar past cases."""
    strength = 0.0
    supporting: list[str] = []
    clearing: list[str] = []
    typologies: list[str] = []
    transactions = 0
    for item in register.items.values():
        if item.kind == "transaction":
            transactions += 1
        elif item.kind == "pattern":
            if item.data.get("matched"):
                strength = max(strength, float(item.data.get("strength", 0.0)))
                supporting.append(item.id)
                typologies.append(item.data.get("typology", ""))
            else:
                clearing.append(item.id)
        elif item.kind == "rule_hit" and item.data.get("action") == "flag":
            strength = max(strength, 0.35)
            supporting.append(item.id)
        elif item.kind == "similar_case":
            if item.data.get("outcome") in {"confirmed_fraud", "sar_filed"} and item.data.get("similarity", 0) >= 0.5:
                supporting.append(item.id)
            elif item.data.get("outcome") == "false_positive":
                clearing.append(item.id)
    checked_patterns = any(item.kind == "pattern" for item in register.items.values())
    return Assessment(
        strength=round(strength, 2),
        supporting=supporting,
        clearing=clearing,
        typologies=typologies,
        is_thin=transactions == 0 or not checked_patterns,
    )


def permitted_outcomes(assessment: Assessment, proposer) -> list[str]:
    """Outcomes the evidence supports that `proposer` may propose (None: no person's limit, continuous mode)."""
    return [
        outcome
        for outcome in OUTCOMES
        if outcome in assessment.supported_outcomes
        and (proposer is None or proposer.has_perm(OUTCOME_PERMISSION[outcome]))
    ]


def check_outcome(outcome: str, assessment: Assessment, proposer) -> str:
    """ "" when `outcome` may be proposed, else why not."""
    if outcome not in OUTCOMES:
        return f"{outcome!r} is not an outcome"
    if outcome not in assessment.supported_outcomes:
        return f"the evidence (strength {assessment.strength}) does not support {outcome}"
    if proposer is not None and not proposer.has_perm(OUTCOME_PERMISSION[outcome]):
        return f"the requester may not propose {outcome}"
    return ""
