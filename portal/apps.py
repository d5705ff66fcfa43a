from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The brand owners' web portal: brands, trademarks, reports and their outcomes."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "portal"
    verbose_name = "Brand-owner portal"
