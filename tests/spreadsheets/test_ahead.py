"""spreadsheets.ahead.read_ahead: a roster's reading runs in a second thread, a few chunks ahead
of its writing, and only while the writer waits. The caller gets the items in order, the
reader's exception at the item where it happened, the reader stops when the caller leaves early
(even parked at a pause), and the reader has the caller's context, language and time zone but
not the readers' observers (a job's progress is the caller's to write)."""

import contextvars
import sys
import threading
import time
import zoneinfo

import pytest
from django.utils import timezone, translation

from spreadsheets.ahead import read_ahead

marker: contextvars.ContextVar = contextvars.ContextVar("marker", default="unset")


def test_items_arrive_in_order_from_another_thread():
    threads = []

    def items():
        for number in range(50):
            threads.append(threading.current_thread())
            yield number

    with read_ahead(lambda pause: items()) as chunks:
        assert list(chunks) == list(range(50))
    assert len(set(threads)) == 1 and threads[0] is not threading.current_thread()


def test_the_readers_exception_comes_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise ValueError("row 3")

    got = []
    with pytest.raises(ValueError, match="row 3"), read_ahead(lambda pause: items()) as chunks:
        for item in chunks:
            got.append(item)
    assert got == [1, 2]


def test_leaving_early_stops_the_reader_and_restores_the_switch_interval():
    produced = []
    interval = sys.getswitchinterval()

    def endless(pause):
        number = 0
        while True:
            pause()
            produced.append(number)
            yield number
            number += 1

    with read_ahead(endless, depth=2) as chunks:
        assert sys.getswitchinterval() <= 0.001
        for item in chunks:
            if item == 5:
                break
    count = len(produced)
    time.sleep(0.2)
    assert len(produced) == count <= 5 + 2 + 2  # at most the queue and one item in hand
    assert not any(t.name == "read-ahead" for t in threading.enumerate())
    assert sys.getswitchinterval() == interval


def test_the_reader_runs_in_the_callers_context_language_and_time_zone():
    """Django keeps the language per thread: a reader left with the default wrote an English
    user's row errors in Chinese."""

    def items():
        yield marker.get(), translation.get_language(), timezone.get_current_timezone_name()

    token = marker.set("caller's")
    try:
        with (
            translation.override("en"),
            timezone.override(zoneinfo.ZoneInfo("Asia/Urumqi")),
            read_ahead(lambda pause: items()) as chunks,
        ):
            assert list(chunks) == [("caller's", "en", "Asia/Urumqi")]
    finally:
        marker.reset(token)


def test_the_reader_runs_only_while_the_caller_waits(db):
    """While the caller runs Python of its own the reader stays parked at its pause; it reads on
    while the caller waits for the database or for the next item."""
    from django.db import connection

    produced = []

    def rows(pause):
        for number in range(1000):
            pause()
            produced.append(number)
            yield number

    with read_ahead(rows, depth=1000) as chunks:
        first = next(chunks)
        before = len(produced)
        deadline = time.perf_counter() + 0.3
        while time.perf_counter() < deadline:
            pass  # the caller's own Python: the reader does not run
        during = len(produced)
        with connection.cursor() as cursor:
            for _ in range(50):
                cursor.execute("SELECT 1")  # the reader may run while each one does
        rest = list(chunks)
    assert first == 0
    assert during - before <= 1  # at most the row it was reading
    assert [first, *rest] == list(range(1000))


def test_leaving_while_the_reader_is_parked_ends_it():
    def rows(pause):
        for number in range(10):
            pause()
            yield number

    with read_ahead(rows) as chunks:
        assert next(chunks) == 0
        time.sleep(0.05)  # the reader parks at a pause: the caller is busy
    assert not any(t.name == "read-ahead" for t in threading.enumerate())


def test_the_reader_does_not_get_the_job_progress_observers():
    from spreadsheets import readers

    def items():
        yield readers.table_observer.get(), readers.rows_observer.get()

    tokens = (readers.table_observer.set(print), readers.rows_observer.set(print))
    try:
        with read_ahead(lambda pause: items()) as chunks:
            assert list(chunks) == [(None, None)]
        assert readers.table_observer.get() is print  # the caller's are untouched
    finally:
        readers.rows_observer.reset(tokens[1])
        readers.table_observer.reset(tokens[0])


def test_a_reader_gone_without_a_word_is_an_error_not_a_wait():
    import queue

    from spreadsheets.ahead import _next

    thread = threading.Thread(target=lambda: None)
    thread.start()
    thread.join()
    with pytest.raises(RuntimeError, match="ended without"):
        _next(queue.Queue(), thread)
