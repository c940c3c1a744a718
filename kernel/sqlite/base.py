"""Django's SQLite backend, whose writers in one process wait for each other in a queue instead of in SQLite.

SQLite lets one writer at a time hold the database; the others wait in SQLite's busy handler, which
sleeps and polls, and gives up with "database is locked" once its timeout passes: under eight
concurrent ingest requests, a writer could wait behind minutes of other batches and fail, on the
batch itself, its audit entry or the outbox relay after it. Here every write transaction (an atomic
block: BEGIN IMMEDIATE) and every write statement outside one first takes a lock shared by all
connections to the same database file in this process, so writers of the web process queue in order
and none meets the busy timeout; it still applies between processes (a management command). Reads
take no lock: WAL lets them run beside the writer.
"""

import threading

from django.db.backends.sqlite3 import base

_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _writer_lock(name: str) -> threading.Lock:
    with _locks_lock:
        return _locks.setdefault(name, threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_writer_lock = False

    def _start_transaction_under_autocommit(self):
        lock = self.writer_lock()
        lock.acquire()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            lock.release()
            raise
        self._holds_writer_lock = True

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_writer_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_writer_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_writer_lock()

    def _release_writer_lock(self):
        if self._holds_writer_lock:
            self._holds_writer_lock = False
            self.writer_lock().release()

    def create_cursor(self, name=None):
        cursor = self.connection.cursor(factory=QueuedCursor)
        cursor.wrapper = self
        return cursor

    def holds_or_needs_no_writer_lock(self, query: str) -> bool:
        return self._holds_writer_lock or not query.lstrip()[:7].upper().startswith(_WRITES)

    def writer_lock(self) -> threading.Lock:
        return _writer_lock(str(self.settings_dict["NAME"]))


class QueuedCursor(base.SQLiteCursorWrapper):
    """A write statement outside a transaction waits for the writer lock too."""

    wrapper: DatabaseWrapper

    def execute(self, query, params=None):
        if self.wrapper.holds_or_needs_no_writer_lock(query):
            return super().execute(query, params)
        with self.wrapper.writer_lock():
            return super().execute(query, params)

    def executemany(self, query, param_list):
        if self.wrapper.holds_or_needs_no_writer_lock(query):
            return super().executemany(query, param_list)
        with self.wrapper.writer_lock():
            return super().executemany(query, param_list)
