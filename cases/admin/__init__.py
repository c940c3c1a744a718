"""Admin for cases, teams, routing rules, approvals (approve/reject actions) and timelines."""

from cases.admin import cases, closing, evidence, teams  # noqa: F401
