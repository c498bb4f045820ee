"""spreadsheets.ahead.read_ahead: a roster's reading runs in a second thread, a few chunks ahead
of its writing. The caller gets the items in order, the reader's exception at the item where it
happened, the reader stops when the caller leaves early, and the reader sees the caller's
context (the active language, the readers' observers)."""

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

    def endless():
        number = 0
        while True:
            produced.append(number)
            yield number
            number += 1

    with read_ahead(lambda pause: endless(), depth=2) as chunks:
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
