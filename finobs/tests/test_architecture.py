"""The dependency direction between the apps, held by reading every import of the product's code.

From the ground floor up: kernel (imports no app), organisations (whose data is whose: every app may
import it), audit, accounts, apikeys and notifications, approvals, scoring, delivery, ingestion (intake),
cases, evidence (signed exports and archives of what the apps below hold), and finobs (the wiring, which
may import anything). An app imports only the apps below it; tests and benchmarks may use anything.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "kernel",
    "organisations",
    "audit",
    "accounts",
    "apikeys",
    "notifications",
    "approvals",
    "scoring",
    "delivery",
    "ingestion",
    "cases",
    "evidence",
    "finobs",
)
MAY_IMPORT = {
    "kernel": set(),
    "organisations": {"kernel"},
    "audit": {"kernel", "organisations"},
    "accounts": {"kernel", "organisations", "audit"},
    "apikeys": {"kernel", "organisations", "audit"},
    "notifications": {"kernel", "organisations", "audit"},
    "approvals": {"kernel", "organisations", "audit", "notifications"},
    "scoring": {"kernel", "organisations", "audit", "approvals"},
    "delivery": {"kernel", "organisations", "audit", "apikeys", "scoring"},
    "ingestion": {"kernel", "organisations", "audit", "apikeys", "scoring", "delivery"},
    "evidence": {"kernel", "organisations", "audit", "approvals", "scoring", "cases"},
    "cases": {"kernel", "organisations", "audit", "apikeys", "approvals", "notifications", "scoring", "delivery"},
    "finobs": set(APPS) - {"finobs"},
}


def imports_of(path: Path) -> set[str]:
    """The top-level packages `path` imports, at module level or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def product_modules(app: str) -> list[Path]:
    return [p for p in sorted((ROOT / app).rglob("*.py")) if "tests" not in p.relative_to(ROOT).parts]


@pytest.mark.parametrize("app", APPS)
def test_an_app_imports_only_the_apps_below_it(app):
    modules = product_modules(app)
    assert modules, f"{app}/ holds no code"
    wrong = {
        str(path.relative_to(ROOT)): sorted(found)
        for path in modules
        if (found := (imports_of(path) & set(APPS)) - MAY_IMPORT[app] - {app})
    }
    assert not wrong, f"{app} may import only {sorted(MAY_IMPORT[app])}; these import more: {wrong}"


def test_every_app_of_the_product_is_placed_in_the_layers():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"bench", "tests"}
    assert packages <= set(APPS), f"place {sorted(packages - set(APPS))} in MAY_IMPORT"


def test_the_layers_point_one_way():
    """No two apps may import each other: the allowed imports form no cycle."""
    for app, below in MAY_IMPORT.items():
        for other in below:
            assert app not in MAY_IMPORT[other], f"{app} and {other} may import each other"
