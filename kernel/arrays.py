"""Python sequences as PostgreSQL array literals, for one `%s::text[]` parameter instead of thousands."""

from collections.abc import Sequence


def text_array(values: Sequence[str | None]) -> str:
    """`values` as one PostgreSQL array literal, for a `%s::text[]` parameter (None becomes NULL).

    psycopg adapts a Python list element by element (a regex per element to decide on quoting):
    ~35 ms per 10,000 strings; joining the literal here costs ~3 ms. Every element is quoted, with
    backslash and double quote escaped, so any text (NUL aside, which PostgreSQL text cannot hold) is safe.
    """
    return (
        "{"
        + ",".join("NULL" if v is None else '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        + "}"
    )
