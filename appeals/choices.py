from django.db import models


class AppealOutcome(models.TextChoices):
    PENDING = "pending", "Awaiting review"
    GRANTED = "granted", "Granted"
    DENIED = "denied", "Denied"
