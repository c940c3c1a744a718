"""Django admin for scoring: transactions and decisions (read-only), the model registry, rules, monitoring.

Everything here is written by services (ingestion, scoring, training, labelling), so the admin
shows it read-only; labelling goes through record_labels, which audits it.
"""

from scoring.admin import monitoring, registry, rules, transactions  # noqa: F401
