"""Small test helpers shared by the suite."""

import base64
import json
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


def run_outbox() -> int:
    """Run every task still owed through the outbox here, as the worker would; return how many.

    Under the ``db`` fixture nothing commits, so ``on_commit`` never publishes: a test that needs
    the owed work done (e.g. ring refresh after a catalog import) runs it with this.
    """
    import importlib

    from celery import current_app

    from outbox.models import OutboxMessage

    done = 0
    for message in OutboxMessage.objects.filter(done_at__isnull=True).order_by("id"):
        importlib.import_module(message.task.rpartition(".")[0])  # registers the task
        task = current_app.tasks[message.task]
        task.apply(args=message.args, kwargs={"outbox_id": message.pk}, throw=True)
        done += 1
    return done


def queued_outbox_ids() -> list[int]:
    """The outbox ids of the task messages waiting in this test process's queue, oldest first,
    read off the real broker (nothing consumes them while no worker runs)."""
    from config.celery import app

    with app.connection_for_read() as conn:
        raw = conn.default_channel.client.lrange(app.conf.task_default_queue, 0, -1)
    ids = []
    for entry in reversed(raw):  # Celery pushes on the left and consumes from the right
        _args, kwargs, _embed = json.loads(base64.b64decode(json.loads(entry)["body"]))
        ids.append(kwargs["outbox_id"])
    return ids
