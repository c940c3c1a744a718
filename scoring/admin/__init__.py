"""Django admin for scoring: transactions and decisions (read-only), the model registry, rules, monitoring.

Everything here is written by services (ingestion, scoring, training, labelling), so the admin
shows it read-only; labels come from case outcomes (record_labels, audited).
"""

from scoring.admin import monitoring, registry, rules, transactions  # noqa: F401
