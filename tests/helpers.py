"""Small test helpers shared by the suite."""

import time
from collections.abc import Callable


def wait_for[T](
    predicate: Callable[[], T], timeout: float = 30, interval: float = 0.1, message: str = ""
) -> T:
    """Call ``predicate`` until it returns something truthy, and return that; fail at the deadline.

    The one place the suite waits: for a Celery worker, a server or a browser to catch up. Tests
    never sleep a fixed time.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            what = message or getattr(predicate, "__name__", repr(predicate))
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
