"""The case page draws a sign-coloured SHAP bar chart from Decision.explanation (the scoring contract)."""

import pytest

from cases.tests.browser.test_workspace_flow import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPLANATION = {
    "method": "tree_shap",
    "base_value": 0.12,
    "contributions": [
        {
            "feature": "mcc_risk",
            "label": "Merchant category risk",
            "value": 0.9,
            "contribution": 0.31,
            "text": "Quasi-cash merchant (MCC 6051) pushes towards anomalous",
        },
        {
            "feature": "country_risk",
            "label": "Country risk",
            "value": 1.0,
            "contribution": 0.22,
            "text": "High-risk country pushes towards anomalous",
        },
        {
            "feature": "is_weekend",
            "label": "Weekend",
            "value": 0.0,
            "contribution": -0.04,
            "text": "A weekday pushes towards normal",
        },
    ],
}


def test_shap_chart_is_drawn_with_anomalous_and_normal_bars(asgi_server, browser, open_case, personas):
    case = open_case("a-1")
    decision = case.transactions.get().decision
    decision.explanation = EXPLANATION
    decision.save()
    alice = personas["alice"]
    alice.set_password(PASSWORD)
    alice.save()

    page = browser.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{asgi_server}/accounts/login/?next=/cases/{case.reference}/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("canvas[data-shap-chart][data-drawn]")
    bars = page.evaluate(
        """() => {
            const chart = Chart.getChart(document.querySelector('canvas[data-shap-chart]'));
            const ds = chart.data.datasets[0];
            return chart.data.labels.map((label, i) => [label, ds.data[i], ds.backgroundColor[i]]);
        }"""
    )
    assert [(label.split(" = ")[0], value) for label, value, _ in bars] == [
        ("Merchant category risk", 0.31),
        ("Country risk", 0.22),
        ("Weekend", -0.04),
    ]
    assert bars[0][2] != bars[2][2]  # towards anomalous and towards normal in different colours
    assert page.locator(".shap-text li.up").first.inner_text().startswith("Quasi-cash merchant")
    assert page.locator("[data-explanation-pending]").count() == 0
