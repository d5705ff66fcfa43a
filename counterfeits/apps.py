from django.apps import AppConfig


class CounterfeitsConfig(AppConfig):
    name = "counterfeits"
    verbose_name = "Counterfeits"
