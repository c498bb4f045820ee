"""Read a spreadsheet a few chunks ahead of its writing, in a second thread.

A first import of 100,000 rows is about half Python (reading and checking the cells) and half
PostgreSQL (the writes), one after the other; on two cores the two halves can overlap. The
database connection belongs to the calling thread (and so does its transaction): only the reading
moves, the writing stays where it was. The reading thread runs in a copy of the caller's context
(the readers' observers) with the caller's language and time zone active (Django keeps those per
thread: a thread starts with the defaults), and must not touch the database: a job's progress,
for one, is reported by the caller, whose transaction holds the job's row.
"""

import contextlib
import contextvars
import queue
import sys
import threading

from django.utils import timezone, translation

# While the reading thread is busy, each database call of the writing thread waits for the
# interpreter lock when it returns: up to the switch interval (5 ms by default), 1.5 s over the
# 300 statements of a 100,000-row import. 1 ms, for the length of the read, costs the reader
# little (it only gives the lock up when the writer asks for it).
SWITCH_INTERVAL = 0.001
_DONE = object()


@contextlib.contextmanager
def read_ahead(items, *, depth: int = 2):
    """`with read_ahead(iterable) as chunks: for chunk in chunks: …` — the iterable's items,
    produced in a second thread at most `depth` items ahead of the caller. An exception raised
    by the iterable is raised again in the caller, at the item where it happened. Leaving the
    block early stops the thread after the item it is producing."""
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    language = translation.get_language()
    zone = timezone.get_current_timezone()

    def produce():
        try:
            with translation.override(language), timezone.override(zone):
                for item in items:
                    if not put((True, item)):
                        return
            put((True, _DONE))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            put((False, exc))

    def consume():
        while True:
            ok, item = handoff.get()
            if not ok:
                raise item
            if item is _DONE:
                return
            yield item

    thread = threading.Thread(
        target=contextvars.copy_context().run, args=(produce,), name="read-ahead", daemon=True
    )
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, SWITCH_INTERVAL))
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(previous)
