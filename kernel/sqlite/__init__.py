"""The embedded default's SQLite backend, with writers that wait their turn in the process (see base.py)."""
