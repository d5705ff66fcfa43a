"""The relay beat task, and the decorator that lets a task complete its outbox message."""

import functools
from collections.abc import Callable
from typing import Any

from celery import shared_task
from celery.exceptions import Retry

from . import services


def completes_outbox[F: Callable[..., Any]](func: F) -> F:
    """Wrap a task body taking ``outbox_id=None``: mark the message done when it returns.

    A ``Retry`` keeps the message leased until after the retry; any other error leaves it owed,
    so the relay publishes it again once the lease runs out.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, outbox_id: int | None = None, **kwargs: Any) -> Any:
        try:
            result = func(*args, **kwargs)
        except Retry as retry:
            when = retry.when if isinstance(retry.when, int | float) else 0
            services.extend_lease(outbox_id, when)
            raise
        services.mark_done(outbox_id)
        return result

    return wrapper  # type: ignore[return-value]


@shared_task(acks_late=True)
def relay_outbox() -> int:
    """Beat: publish what committed transactions owe and nobody has published (or finished)."""
    return services.relay()


@shared_task
def purge_outbox() -> int:
    return services.purge_done()
