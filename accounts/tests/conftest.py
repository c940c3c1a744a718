"""Second-factor tests need people and cases: cases' personas and builders serve here too."""

from cases.tests.conftest import model_version, open_case, personas, teams  # noqa: F401 (fixtures)
