"""The cases personas (alice and victor in team A, bob in team B, carol and dave compliance) serve here too."""

from cases.tests.conftest import model_version, open_case, personas, teams  # noqa: F401
