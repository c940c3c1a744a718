"""Admin for cases, teams, routing rules, approvals (approve/reject actions), timelines, investigations."""

from cases.admin import cases, closing, evidence, investigations, teams  # noqa: F401
