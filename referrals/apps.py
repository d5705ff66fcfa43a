from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals"

    def ready(self) -> None:
        # Registers the bearer scheme with drf-spectacular (extensions register on import).
        from . import schema  # noqa: F401
