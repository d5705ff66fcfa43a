"""Brand services: a brand owner registers a brand with its trademarks; an analyst verifies it.

A brand's reports count as a rights owner's (and can earn the priority lane) only once verified.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from .choices import MembershipRole, TrademarkOffice
from .exceptions import PermissionRefused
from .models import Brand, BrandMembership, Trademark
from .roles import is_analyst


@dataclass(frozen=True)
class TrademarkEntry:
    """A registration as the owner gives it: office, number and Nice classes."""

    office: str
    number: str
    classes: str = ""


def brands_of(user: AbstractBaseUser) -> QuerySet[Brand]:
    """The brands a user may see and file for: their memberships (analysts: every brand)."""
    if is_analyst(user):
        return Brand.objects.all()
    return Brand.objects.filter(memberships__user=user)


def _normalise_classes(raw: str) -> str:
    parts = [p.strip() for p in raw.replace(";", ",").split(",") if p.strip()]
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    bad = [p for p in parts if not (p.isascii() and p.isdigit()) or not 1 <= int(p) <= 45]
    if bad:
        message = f"Nice classes are numbers 1 to 45, not {bad[0]!r}."
        raise ValidationError({"trademarks": [message]})
    return ", ".join(str(n) for n in sorted({int(p) for p in parts}))


@transaction.atomic
def register_brand(
    *, owner: AbstractBaseUser, name: str, trademarks: Iterable[TrademarkEntry]
) -> Brand:
    """Register a brand, unverified, with the owner as its first member and its trademarks.

    Raises ``ValidationError`` (nothing created) for a taken name, a trademark already registered
    to a brand, an unknown office, or none at all.
    """
    name = " ".join(name.split())
    entries = [t for t in trademarks if t.number.strip()]
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the brand's name."]
    elif Brand.objects.filter(name__iexact=name).exists():
        errors["name"] = [
            "A brand of this name is already registered. Ask its owner to add you as a member."
        ]
    if not entries:
        errors["trademarks"] = ["Add at least one registered trademark."]
    rows = []
    for entry in entries:
        if entry.office not in TrademarkOffice.values:
            errors.setdefault("trademarks", []).append(f"Unknown office {entry.office!r}.")
            continue
        number = entry.number.strip().upper()
        try:
            classes = _normalise_classes(entry.classes)
        except ValidationError as exc:
            errors.setdefault("trademarks", []).extend(exc.message_dict["trademarks"])
            continue
        if Trademark.objects.filter(office=entry.office, number=number).exists():
            errors.setdefault("trademarks", []).append(
                f"{entry.office} {number} is already registered to a brand here."
            )
        rows.append((entry.office, number, classes))
    if len({(o, n) for o, n, _ in rows}) != len(rows):
        errors.setdefault("trademarks", []).append("The same trademark is listed twice.")
    if errors:
        raise ValidationError(errors)
    try:
        brand = Brand.objects.create(name=name)
        Trademark.objects.bulk_create(
            Trademark(brand=brand, office=o, number=n, classes=c) for o, n, c in rows
        )
    except IntegrityError as exc:  # a concurrent registration took the name or a number
        raise ValidationError({"name": ["This brand or trademark was just registered."]}) from exc
    BrandMembership.objects.create(brand=brand, user=owner, role=MembershipRole.OWNER)
    return brand


@transaction.atomic
def verify_brand(brand_id: int, *, actor: AbstractBaseUser) -> Brand:
    """An analyst confirms the brand's trademarks are its owner's. Idempotent."""
    if not is_analyst(actor):
        raise PermissionRefused("Only analysts verify brands.")
    brand = Brand.objects.select_for_update().get(pk=brand_id)
    if not brand.verified:
        brand.verified = True
        brand.verified_at = timezone.now()
        brand.verified_by = actor
        brand.save(update_fields=["verified", "verified_at", "verified_by"])
    return brand
