from django.db import models


class SellerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CLOSED = "closed", "Closed"
    REINSTATED = "reinstated", "Reinstated"


class IdentifierKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"
    ADDRESS = "address", "Postal address"
    PAYMENT = "payment", "Payment account"
    TAX_ID = "tax_id", "Tax / VAT id"
    COMPANY_REGISTRATION = "company_registration", "Company registration"
