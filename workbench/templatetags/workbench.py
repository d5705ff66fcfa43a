"""Small display helpers for the workbench templates."""

import json
from datetime import datetime, timedelta

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from counterfeits.choices import TRANSITIONS, CaseState
from counterfeits.intake import PRIORITY_ACCURATE_NOTIFIER, PRIORITY_TRUSTED_FLAGGER
from sellers.rings import PRIORITY_RING_WITH_CLOSED_SELLER
from workbench.access import role_label

register = template.Library()

STATE_LABELS = dict(CaseState.choices)
TRANSITION_LABELS = {
    "open": "Case opened",
    "confirm": "Confirmed",
    "dismiss": "Dismissed",
    "close_account": "Account closed",
    "file_appeal": "Appeal filed",
    "grant_appeal": "Appeal granted",
    "deny_appeal": "Appeal denied",
    "expire_appeal_window": "Appeal window expired",
    "refer": "Referred",
    "reinstate_after_referral": "Reinstated after referral",
}
assert set(TRANSITIONS) <= set(TRANSITION_LABELS)  # noqa: S101 - a new transition needs a label


@register.filter
def state_label(value: str) -> str:
    return STATE_LABELS.get(value, value.replace("_", " ") if value else "—")


@register.filter
def transition_label(value: str) -> str:
    return TRANSITION_LABELS.get(value, value.replace("_", " "))


@register.filter
def role_of(user: object) -> str:
    return role_label(user)


@register.filter
def deadline_class(value: datetime | None) -> str:
    """``deadline--past`` when due, ``deadline--soon`` inside 48 hours, else nothing."""
    if value is None:
        return ""
    now = timezone.now()
    if value <= now:
        return "deadline--past"
    if value - now <= timedelta(hours=48):
        return "deadline--soon"
    return ""


@register.filter
def duration(value: timedelta | None) -> str:
    """A duration as '3 d 4 h' (or '5 h 10 min' under a day)."""
    if value is None:
        return "—"
    total = int(value.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


@register.filter
def short_hash(value: str, length: int = 12) -> str:
    return value[:length] if value else ""


@register.filter
def get_item(mapping: dict, key: str) -> object:
    """``mapping[key]`` in a template (None when absent)."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def as_json(value: object) -> str:
    """JSON for a ``data-`` attribute, escaped by the template like any text.

    Not ``json_script``: htmx (``allowScriptTags: false``, for the CSP) drops every script
    element of a swapped fragment, data blocks included; an attribute survives the swap.
    """
    return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"))


# Why a case is ahead in the queue: (badge word, tooltip) per priority a rule sets.
PRIORITY_LANES = {
    PRIORITY_RING_WITH_CLOSED_SELLER: ("ring", "Linked to a seller closed for counterfeits"),
    PRIORITY_TRUSTED_FLAGGER: ("trusted flagger", "Reported by a trusted flagger (DSA Art. 22)"),
    PRIORITY_ACCURATE_NOTIFIER: (
        "accurate notifier",
        "Reported by a verified brand whose reports are usually right",
    ),
}


@register.filter
def priority_label(value: int) -> str:
    """Why a case is ahead in the queue, in a word or two."""
    if not value:
        return ""
    return PRIORITY_LANES.get(value, ("set by hand", ""))[0]


@register.filter
def priority_title(value: int) -> str:
    """The longer explanation of a case's priority, for the badge's tooltip."""
    if not value:
        return "No priority"
    return PRIORITY_LANES.get(value, ("", f"Priority {value}, set by hand"))[1]
