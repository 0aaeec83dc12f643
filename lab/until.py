"""Waiting for something: one helper, polling the thing itself against a deadline.

A fixed sleep never decides whether something happened; ``until`` asks, again and again,
until the answer is yes or the deadline passes, and says what it waited for and how long.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger("mslab")
T = TypeVar("T")


class Timeout(AssertionError):
    """What was waited for did not happen before the deadline (a test failure)."""


def until(predicate: Callable[[], T], what: str, timeout: float = 60, interval: float = 0.5) -> T:
    """Call ``predicate`` until it returns a true value, and return that value. Raises
    Timeout naming ``what`` and the seconds waited when ``timeout`` passes first."""
    start = time.monotonic()
    while True:
        value = predicate()
        waited = time.monotonic() - start
        if value:
            log.info("waited %.1fs for %s", waited, what)
            return value
        if waited >= timeout:
            raise Timeout(f"waited {waited:.0f}s for {what}; it did not happen")
        time.sleep(interval)
