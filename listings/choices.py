from django.db import models


class ListingStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DELISTED = "delisted", "Delisted"
