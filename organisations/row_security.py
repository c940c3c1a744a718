"""The second wall: the PostgreSQL session setting `finobs.organisation` that the tables' row-level security
policies compare each row's organisation with, kept equal to the current organisation.

Values: an organisation's id (its rows only), `system` (platform work, the context unset: every row) and
`nobody` (a person outside every organisation: no row; any value that is not a number or `system`, and no
value at all, matches no row). The policies are in migrations organisations 0004 and 0005.

The setting is session-level (`set_config(..., false)`), not `SET LOCAL`: Django runs in autocommit, so a
transaction-local value would end with each statement. Session-level is safe here because no statement
reaches the database without passing through `apply_setting` first (Django's execute wrapper for every
statement, kernel.bulk's hook for COPY), which makes the session's value the current context's; a pooled or
persistent connection's leftover value is therefore corrected before it is used. What the session holds is
remembered on the psycopg connection (it lives as long as the server session, in and out of the pool), so a
statement costs a round trip only when the organisation changes.

A value set inside a transaction is undone if the transaction (or a savepoint around it) rolls back, so it
is trusted only until then: a commit confirms it (an on_commit hook); a transaction that ended otherwise, or
a ROLLBACK TO SAVEPOINT, makes it unknown and the next statement sets it again.
"""

import time

from psycopg.pq import TransactionStatus

from organisations.context import NOBODY, scope

SETTING = "finobs.organisation"
SYSTEM = "system"
NO_ORGANISATION = "nobody"
_SET = f"SELECT set_config('{SETTING}', %s, false)"
# Statements that touch no row and must run even in a failed transaction (set_config would fail there).
_SAVEPOINT_STATEMENTS = ("SAVEPOINT ", "RELEASE SAVEPOINT ", "ROLLBACK TO SAVEPOINT ")


class _SessionSetting:
    """What one PostgreSQL session holds in `finobs.organisation`, as far as this process knows."""

    __slots__ = ("generation", "unconfirmed", "value")

    def __init__(self) -> None:
        self.value: str | None = None  # None: unknown
        self.unconfirmed = False  # set in a transaction that has not committed yet
        self.generation = 0

    def confirm(self, generation: int) -> None:
        """The transaction that set the value committed (unless the value was set again since)."""
        if generation == self.generation:
            self.unconfirmed = False


def setting_value() -> str:
    """The value of `finobs.organisation` for the current context."""
    current = scope()
    if current is None:
        return SYSTEM
    if current is NOBODY:
        return NO_ORGANISATION
    return str(current.pk)


def _session_setting(raw) -> "_SessionSetting":
    state = raw.__dict__.get("_finobs_organisation")
    if state is None:
        state = raw._finobs_organisation = _SessionSetting()
    return state


def apply_setting(connection) -> None:
    """Make the session's `finobs.organisation` the current context's: nothing when it already is, else
    one `set_config` round trip (logged with the connection's queries, so query counts include it)."""
    raw = connection.connection
    state = _session_setting(raw)
    if state.unconfirmed and raw.info.transaction_status == TransactionStatus.IDLE:
        # Its transaction ended and no commit confirmed it (yet: other on_commit hooks may run queries
        # before ours): the value may have been rolled back.
        state.value, state.unconfirmed = None, False
    wanted = setting_value()
    if wanted == state.value:
        return
    started = time.monotonic()
    with connection.wrap_database_errors:
        raw.execute(_SET, (wanted,))
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": _SET % f"'{wanted}'", "time": f"{time.monotonic() - started:.3f}", "alias": connection.alias}
        )
    state.value = wanted
    state.generation += 1
    if connection.in_atomic_block:
        state.unconfirmed = True
        connection.on_commit(lambda generation=state.generation: state.confirm(generation))
    else:
        # Autocommit: committed already. (Manual transaction management, which finobs does not use, would
        # leave it unconfirmed until the transaction ends, and it is then set again.)
        state.unconfirmed = not connection.get_autocommit()


def organisation_setting(execute, sql, params, many, context):
    """Django execute wrapper: every statement runs with the session's setting made the current context's."""
    connection = context["connection"]
    if isinstance(sql, str) and sql.startswith(_SAVEPOINT_STATEMENTS):
        result = execute(sql, params, many, context)
        if sql.startswith("ROLLBACK TO SAVEPOINT ") and _session_setting(connection.connection).unconfirmed:
            forget_setting(connection)  # perhaps set after the savepoint, and undone with it
        return result
    apply_setting(connection)
    return execute(sql, params, many, context)


def forget_setting(connection) -> None:
    """Forget what the session holds (it may have changed behind the wrapper's back): the next statement sets it."""
    _session_setting(connection.connection).value = None


def install(sender=None, *, connection, **kwargs) -> None:
    """`connection_created` receiver: on PostgreSQL, put the wrapper on the connection (once: Django keeps
    the wrapper list across reconnections and pooled hand-outs)."""
    if connection.vendor == "postgresql" and organisation_setting not in connection.execute_wrappers:
        connection.execute_wrappers.append(organisation_setting)


def apply_before_copy(connection) -> None:
    """kernel.bulk's COPY hook: COPY does not pass through execute wrappers."""
    if connection.vendor == "postgresql":
        apply_setting(connection)
