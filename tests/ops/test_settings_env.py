"""Settings read from the environment: what an operator may write, and what is refused at
start-up rather than misread."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings import env_duration


@pytest.mark.parametrize(
    ("value", "expected"),
    [("P30D", timedelta(days=30)), (" PT2M ", timedelta(minutes=2)), ("P1DT12H", timedelta(1.5))],
)
def test_a_positive_iso_duration_is_taken(monkeypatch, value, expected):
    monkeypatch.setenv("APPEAL_WINDOW", value)
    assert env_duration("APPEAL_WINDOW", "P30D") == expected


@pytest.mark.parametrize("value", ["-P1D", "P0D", "PT0S", "30", "30 days", "", "p30d", "P"])
def test_a_duration_that_is_not_positive_iso_8601_is_refused(monkeypatch, value):
    # "-P1D" as the appeal window would make every closed case due at once; "30" would be read
    # as thirty seconds
    monkeypatch.setenv("APPEAL_WINDOW", value)
    with pytest.raises(ImproperlyConfigured, match="APPEAL_WINDOW="):
        env_duration("APPEAL_WINDOW", "P30D")


def test_the_default_applies_when_unset(monkeypatch):
    monkeypatch.delenv("APPEAL_WINDOW", raising=False)
    assert env_duration("APPEAL_WINDOW", "P30D") == timedelta(days=30)
