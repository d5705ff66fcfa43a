from django.db import models


class ReferralStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RETRACTED = "retracted", "Retracted"
    FAILED = "failed", "Delivery failed"


class AttemptKind(models.TextChoices):
    PACKET = "packet", "Packet"
    RETRACTION = "retraction", "Retraction"


class AttemptOutcome(models.TextChoices):
    SUCCESS = "success", "Accepted"
    RETRY = "retry", "Transient failure, will retry"
    FAILED = "failed", "Failed"


class AccessAction(models.TextChoices):
    LIST = "list", "Listed referrals"
    READ_JSON = "read_json", "Read packet (JSON)"
    READ_PDF = "read_pdf", "Read packet (PDF)"
    ACKNOWLEDGE = "acknowledge", "Acknowledged"
