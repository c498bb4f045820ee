"""Read a spreadsheet a few chunks ahead of its writing, in a second thread, while the writing
waits for the database.

A first import of 100,000 rows is about half Python (reading and checking the cells, then
preparing the writes) and half PostgreSQL (the writes), one after the other; on two cores the
reading can run while PostgreSQL works. The database connection belongs to the calling thread
(and so does its transaction): only the reading moves, the writing stays where it was.

Python runs one thread at a time. Left to the interpreter, the reading thread would take its
turns while the writer prepares a batch as much as while it waits for the server, and slow the
writer by as much as it gained (measured: no faster than reading first). So the two take turns:
the reader runs only while the writer waits, for the database (every statement through the
connection's execute wrappers, COPY included: database.bulk) or for the next chunk, and pauses
at its next row (`pause`) as soon as the writer has work of its own. A COPY is the exception:
the writer formats its lines while the server stores the ones before (database.bulk sends them
in pieces), so there both run, taking the lock in turns.

The reading thread runs in a copy of the caller's context with the caller's language and time
zone active (Django keeps those per thread: a thread starts with the defaults), and must not
touch the database: a job's progress, for one, is reported by the caller, whose transaction
holds the job's row (the readers' observers are taken out of the thread's context).
"""

import contextlib
import contextvars
import queue
import sys
import threading

from django.db import connection
from django.utils import timezone, translation

from . import readers

# When the writer's database call returns, it waits for the interpreter lock until the reader
# gives it up: up to the switch interval (5 ms by default; 1.5 s over the 300 statements of a
# 100,000-row import). 0.2 ms for the length of the read: the two threads want the lock at the
# same time only at those hand-overs (statement time 10.8–11.0 s against 11.7–12.6 s at 1 ms,
# benchmarks/README.md).
SWITCH_INTERVAL = 0.0002
_DONE = object()
# The switch interval is the process's: set while any read is on, put back after the last.
_switch = {"lock": threading.Lock(), "reads": 0, "previous": None}


class _Stopped(Exception):
    """The caller left: the reading thread ends where it is."""


class _Turns:
    """Whether the reader may run now: while the writer waits (its event set)."""

    def __init__(self):
        self.writer_waits = threading.Event()
        self.stopped = False

    def pause(self) -> None:
        """The reader's check between rows: wait while the writer runs Python."""
        if not self.writer_waits.is_set():
            self.writer_waits.wait()
        if self.stopped:
            raise _Stopped

    @contextlib.contextmanager
    def waiting(self):
        self.writer_waits.set()
        try:
            yield
        finally:
            self.writer_waits.clear()

    def database_wait(self, execute, sql, params, many, context):
        """An execute wrapper: the reader runs while the statement does."""
        with self.waiting():
            return execute(sql, params, many, context)

    def stop(self) -> None:
        self.stopped = True
        self.writer_waits.set()


@contextlib.contextmanager
def read_ahead(produce, *, depth: int = 2):
    """`with read_ahead(lambda pause: iterable) as chunks: for chunk in chunks: …` — the items of
    the iterable `produce(pause)` returns, produced in a second thread at most `depth` items ahead
    of the caller. The iterable calls `pause()` between rows: it returns when the caller is
    waiting (for the database or for the next item). An exception raised by the iterable is
    raised again in the caller, at the item where it happened. Leaving the block early stops the
    thread at its next pause."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    turns = _Turns()
    language = translation.get_language()
    zone = timezone.get_current_timezone()

    def put(entry) -> bool:
        while not turns.stopped:
            try:
                handoff.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def run():
        # The readers' observers (a job's progress: an UPDATE of the job's row, which the
        # caller's transaction may hold) are the caller's to call, never this thread's.
        readers.table_observer.set(None)
        readers.rows_observer.set(None)
        try:
            with translation.override(language), timezone.override(zone):
                for item in produce(turns.pause):
                    if not put((True, item)):
                        return
            put((True, _DONE))
        except _Stopped:
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            put((False, exc))

    def consume():
        while True:
            with turns.waiting():
                ok, item = _next(handoff, thread)
            if not ok:
                raise item
            if item is _DONE:
                return
            yield item

    thread = threading.Thread(
        target=contextvars.copy_context().run, args=(run,), name="read-ahead", daemon=True
    )
    _switch_interval(+1)
    try:
        thread.start()
        try:
            with connection.execute_wrapper(turns.database_wait):
                yield consume()
        finally:
            turns.stop()
            thread.join()
    finally:
        _switch_interval(-1)


def _next(handoff: queue.Queue, thread: threading.Thread):
    """The reader's next entry; should the thread have ended without leaving one (it always
    does, unless it could not even do that), an error rather than a wait for ever."""
    while True:
        try:
            return handoff.get(timeout=1)
        except queue.Empty:
            if not thread.is_alive() and handoff.empty():
                raise RuntimeError("the reading thread ended without its last entry") from None


def _switch_interval(change: int) -> None:
    with _switch["lock"]:
        if change > 0 and _switch["reads"] == 0:
            _switch["previous"] = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch["previous"], SWITCH_INTERVAL))
        _switch["reads"] += change
        if _switch["reads"] == 0:
            sys.setswitchinterval(_switch["previous"])
