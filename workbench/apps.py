from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    """The analysts' web UI: server-rendered pages over the domain services."""

    name = "workbench"
    verbose_name = "Analyst workbench"
