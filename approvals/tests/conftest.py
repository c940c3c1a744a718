"""Requests of each kind are made on cases and model versions: cases' personas and builders serve here too."""

from cases.tests.conftest import model_version, open_case, personas, teams  # noqa: F401 (fixtures)
