"""The transactional outbox: side effects written in the same transaction as the state change."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxMessage(models.Model):
    """One Celery task owed by a committed state change; done when the task has completed.

    A relay publishes messages whose lease has run out, so a broker outage or a crash between
    commit and enqueue (or a worker killed mid-task) delays the work but never loses it.
    """

    task = models.CharField(max_length=200, help_text="Dotted Celery task name.")
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    available_at = models.DateTimeField(default=timezone.now)
    leased_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["available_at", "id"],
                condition=Q(done_at__isnull=True),
                name="outbox_undone",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"
