"""Room on each page of the account profile tables for the next version of their rows (PostgreSQL).

Every batch updates a row per account and per (account, country / merchant) it touches. With free space
on the row's page PostgreSQL writes the new version there without new index entries (a HOT update); on a
full page it writes index entries for it too. Measured on the bench database (bench/ingest.py, 10,000-item
batches): the profile upserts took 0.50-0.77 s a batch with full pages; after the tables were rewritten at
fillfactor 70, 0.31-0.64 s, and 98% of their updates were HOT.

Only pages written from now on keep the room; `VACUUM FULL` on the two tables applies it to the existing
rows (it locks them while it runs).
"""

from django.db import migrations

TABLES = ("scoring_accountprofile", "scoring_accountvaluecount")


def set_fillfactor(apps, schema_editor):
    _alter(schema_editor, "SET (fillfactor = 70)")


def reset_fillfactor(apps, schema_editor):
    _alter(schema_editor, "RESET (fillfactor)")


def _alter(schema_editor, change: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} {change}")


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0009_transaction_unique_external_id_first"),
    ]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
