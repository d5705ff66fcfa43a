"""Referral services: build and sign packets, deliver them, acknowledge, retract, log access."""

import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from config.bulk import (
    allocate_ids,
    bulk_update_rows,
    in_ids,
    insert_rows,
    insert_values,
    without_flush_wait,
)
from counterfeits.models import Case
from outbox.services import enqueue, enqueue_many

from .authentication import hash_token
from .choices import AccessAction, AttemptKind, AttemptOutcome, ReferralStatus
from .models import (
    AccessLogEntry,
    ApiClient,
    ApiToken,
    Authority,
    DeliveryAttempt,
    Referral,
    RoutingRule,
    webhook_url_allowed,
)
from .packets import CaseFacts, CaseRow, case_row, load_facts, packet_text
from .routing import active_rules, route_nexus
from .signing import canonical_json, current_key, rotate_key, sign_with

log = logging.getLogger(__name__)


class ReferralConflict(Exception):
    """An action on a referral that its current status does not allow."""


# --- the default authorities ----------------------------------------------------------------

EU27 = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "GR", "DE", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
]  # fmt: skip

# The legal basis of a disclosure depends on the case. An ordinary counterfeit case is a
# voluntary report of a suspected crime; only a product that threatens the life or safety of
# persons brings the EU DSA Art. 18 duty to notify promptly (and the referral on closure).
US_LEGAL_BASIS = (
    "Voluntary disclosure to federal law enforcement of suspected trafficking in counterfeit "
    "goods (18 U.S.C. § 2320), in cooperation with the National IPR Coordination Center; "
    "disclosure permitted under the marketplace's terms of service and privacy notice."
)
US_SAFETY_LEGAL_BASIS = (
    "Voluntary disclosure to federal law enforcement of suspected trafficking in counterfeit "
    "goods (18 U.S.C. § 2320) whose use may endanger life or safety (cf. § 2320(a)(4) on "
    "counterfeit drugs and § 2320(b)(2) on serious bodily injury or death), made on closure of "
    "the seller's account without waiting for the appeal window; in cooperation with the "
    "National IPR Coordination Center; disclosure permitted under the marketplace's terms of "
    "service and privacy notice."
)
EU_LEGAL_BASIS = (
    "Voluntary disclosure of a suspected criminal offence: the commercial sale of goods bearing "
    "counterfeit trademarks, an offence under the criminal law of the EU member states (as "
    "TRIPS Art. 61 requires for wilful trademark counterfeiting on a commercial scale); the "
    "civil enforcement of the trademark owner's rights is governed by Directive 2004/48/EC. "
    "Personal data disclosed under GDPR Art. 6(1)(f) (the legitimate interest of the "
    "marketplace, its customers and the rights holder in having the offence prevented and "
    "prosecuted) and, for data relating to the suspected offence, Art. 10 with the member-state "
    "law that permits reporting crimes to the authorities. No threat to life or safety is "
    "asserted: DSA Art. 18 is not relied on."
)
EU_SAFETY_LEGAL_BASIS = (
    "Regulation (EU) 2022/2065 (Digital Services Act) Art. 18: prompt notice of information "
    "giving rise to a suspicion that a criminal offence involving a threat to the life or "
    "safety of persons has taken place, is taking place or is likely to take place "
    "(counterfeit goods whose use endangers health or safety). Personal data disclosed under "
    "GDPR Art. 6(1)(c) (the legal obligation of DSA Art. 18) and Art. 10 (processing "
    "authorised by Union law); the sale of counterfeit goods is an offence under member-state "
    "criminal law."
)

DEFAULT_AUTHORITIES = [
    {
        "code": "US-IPRC",
        "name": "National Intellectual Property Rights Coordination Center",
        "jurisdiction": "US",
        "profile": "us-federal",
        "legal_basis": US_LEGAL_BASIS,
        "safety_legal_basis": US_SAFETY_LEGAL_BASIS,
        "countries": ["US"],
    },
    {
        "code": "EU-IPC3",
        "name": "Europol Intellectual Property Crime Coordinated Coalition",
        "jurisdiction": "EU",
        "profile": "eu-dsa",
        "legal_basis": EU_LEGAL_BASIS,
        "safety_legal_basis": EU_SAFETY_LEGAL_BASIS,
        "countries": EU27,
    },
]

# Earlier defaults of ``legal_basis`` that no operator wrote: an authority still holding one is
# brought up to date. Any other text was edited by an operator and is kept.
SUPERSEDED_LEGAL_BASES = {
    "EU-IPC3": (
        "Regulation (EU) 2022/2065 (Digital Services Act) Art. 18: notification of "
        "suspected criminal offences involving a threat to the life or safety of persons; "
        "processing under GDPR Art. 6(1)(c) (legal obligation) and Art. 6(1)(e) (task in "
        "the public interest); sale of counterfeit goods under Directive 2004/48/EC and "
        "national criminal law."
    ),
}


@transaction.atomic
def ensure_default_authorities() -> list[Authority]:
    """Create (or complete) US-IPRC and EU-IPC3 with their routing rules.

    Idempotent: an existing authority keeps its operator-edited fields (webhook, legal basis);
    an empty ``safety_legal_basis`` is filled in, a ``legal_basis`` still holding an earlier
    default is replaced by the current one, and a routing rule is added only when the
    authority has none. A second call changes nothing.
    """
    authorities: list[Authority] = []
    for spec in DEFAULT_AUTHORITIES:
        authority, _ = Authority.objects.get_or_create(
            code=spec["code"],
            defaults={
                "name": spec["name"],
                "jurisdiction": spec["jurisdiction"],
                "profile": spec["profile"],
                "legal_basis": spec["legal_basis"],
                "safety_legal_basis": spec["safety_legal_basis"],
            },
        )
        changed = []
        if not authority.safety_legal_basis.strip():
            authority.safety_legal_basis = spec["safety_legal_basis"]
            changed.append("safety_legal_basis")
        if authority.legal_basis == SUPERSEDED_LEGAL_BASES.get(spec["code"]):
            authority.legal_basis = spec["legal_basis"]
            changed.append("legal_basis")
        if changed:
            authority.save(update_fields=changed)
        if not authority.rules.exists():
            RoutingRule.objects.create(authority=authority, countries=list(spec["countries"]))
        authorities.append(authority)
    return authorities


def create_referrals(case: Case) -> list[Referral]:
    """Build, freeze and sign one referral per routed authority. Call under the case lock.

    Idempotent: an authority that already has this case's referral is skipped.
    """
    return create_referrals_for([case]).get(case.pk, [])


# The columns of a referral as the sweep writes it (every column without a NULL default).
REFERRAL_ROW_FIELDS = (
    "id", "case_id", "authority_id", "status", "packet_json", "sha256", "signature", "key_id",
    "legal_basis", "profile", "seller_country", "brand_name", "created_at", "delivered_at",
    "authority_reference", "retraction_reason",
)  # fmt: skip


class NewReferral(NamedTuple):
    """A referral just written: its row (:data:`REFERRAL_ROW_FIELDS`) and its authority."""

    row: tuple
    authority: Authority

    @property
    def pk(self) -> int:
        return self.row[0]

    @property
    def status(self) -> str:
        return self.row[3]

    def instance(self, case: Case | None = None) -> Referral:
        """The referral as a model instance (its case and authority attached)."""
        referral = Referral(**dict(zip(REFERRAL_ROW_FIELDS, self.row, strict=True)))
        referral.authority = self.authority
        if case is not None:
            referral.case = case
        return referral


def create_referrals_for(cases: list[Case]) -> dict[int, list[Referral]]:
    """Build, freeze and sign the referrals of many cases at once (see :func:`write_referrals`).

    ``cases`` come with ``seller`` and ``brand`` loaded. Returns the referrals made, by case id.
    """
    if not cases:
        return {}
    rows = [case_row(case) for case in cases]
    made = write_referrals(rows, load_facts(rows))
    by_pk = {case.pk: case for case in cases}
    return {
        case_id: [item.instance(by_pk[case_id]) for item in items]
        for case_id, items in made.items()
    }


def write_referrals(
    rows: list[CaseRow], facts: dict[int, CaseFacts], *, now: datetime | None = None
) -> dict[int, list[NewReferral]]:
    """Build, freeze and sign one referral per routed authority of each case. Call under the
    cases' locks. Idempotent: an authority that already has the case's referral is skipped.

    A fixed number of queries for the whole batch. On PostgreSQL the ids (which the packet
    names) are taken from the sequence first, so each referral is inserted once, complete, in
    one statement for the batch; elsewhere they are inserted, then completed. Pull-only
    authorities have their referral delivered at once — it is available to pull as soon as
    this transaction commits; push deliveries are owed through the outbox
    (:func:`queue_dispatch`). Returns the referrals made, by case id, in authority-code order.
    """
    if not rows:
        return {}
    rules = active_rules()
    existing = set(
        Referral.objects.filter(case_id__in=in_ids(row.id for row in rows)).values_list(
            "case_id", "authority_id"
        )
    )
    now = now or timezone.now()
    planned: list[tuple[CaseRow, Authority]] = [
        (row, authority)
        for row in rows
        for authority in route_nexus(facts[row.id].nexus, rules)
        if (row.id, authority.pk) not in existing
    ]
    if not planned:
        return {}
    ids = allocate_ids(Referral, len(planned))
    inserted = ids is None
    if inserted:
        ids = _insert_incomplete(planned, now)
    key, key_id = current_key()
    made: dict[int, list[NewReferral]] = {}
    written: list[NewReferral] = []
    for referral_id, (row, authority) in zip(ids, planned, strict=True):
        pull = not authority.webhook_url
        # The packet states the same basis as the row: both come from this one choice.
        legal_basis = authority.legal_basis_for(safety_risk=row.safety_risk)
        text = packet_text(
            facts[row.id],
            referral_id=referral_id,
            authority=authority,
            created_at=now,
            legal_basis=legal_basis,
        )
        sha256, signature = sign_with(key, text.encode("utf-8"))
        values = (
            referral_id, row.id, authority.pk,
            ReferralStatus.DELIVERED if pull else ReferralStatus.PENDING,
            text, sha256, signature, key_id, legal_basis, authority.profile,
            row.country.upper(), row.brand_name, now, now if pull else None, "", "",
        )  # fmt: skip
        written.append(NewReferral(values, authority))
        made.setdefault(row.id, []).append(written[-1])
    if inserted:
        bulk_update_rows(
            [item.instance() for item in written], ["sha256", "signature", "key_id", "packet_json"]
        )
    else:
        insert_rows(Referral, REFERRAL_ROW_FIELDS, [item.row for item in written])
    return made


def _insert_incomplete(planned: list[tuple[CaseRow, Authority]], now: datetime) -> list[int]:
    """Insert the planned referrals without their packets (which name their ids); return
    the ids (databases without a sequence to allocate them from, i.e. SQLite)."""
    referrals = []
    for row, authority in planned:
        pull = not authority.webhook_url
        referrals.append(
            Referral(
                case_id=row.id,
                authority=authority,
                created_at=now,
                status=ReferralStatus.DELIVERED if pull else ReferralStatus.PENDING,
                delivered_at=now if pull else None,
                legal_basis=authority.legal_basis_for(safety_risk=row.safety_risk),
                profile=authority.profile,
                seller_country=row.country.upper(),
                brand_name=row.brand_name,
            )
        )
    Referral.objects.bulk_create(referrals)
    return [referral.pk for referral in referrals]


def queue_dispatch(referrals: Iterable[Referral | NewReferral]) -> None:
    """Owe one push per referral still pending, in the caller's transaction (outbox)."""
    enqueue_many(
        "referrals.tasks.deliver_referral",
        [[r.pk] for r in referrals if r.status == ReferralStatus.PENDING],
    )


# --- delivery ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushResult:
    outcome: str  # AttemptOutcome
    status_code: int | None
    error: str


def make_pull_available(referral_id: int) -> bool:
    """A pull-only authority: the referral is delivered once it can be fetched."""
    return bool(
        Referral.objects.filter(pk=referral_id, status=ReferralStatus.PENDING).update(
            status=ReferralStatus.DELIVERED, delivered_at=timezone.now()
        )
    )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse to follow redirects: urllib turns a redirected POST into a GET without the body,
    whose 200 would record a packet as delivered that never arrived. The 3xx comes back as an
    ``HTTPError`` and the attempt fails (the endpoint is misconfigured: an analyst retries)."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_webhook_opener = urllib.request.build_opener(_NoRedirects)


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _refuse_push(referral: Referral, kind: str, error: str) -> PushResult:
    """Record a push that was not attempted as failed for good (not retried)."""
    DeliveryAttempt.objects.create(
        referral=referral, kind=kind, outcome=AttemptOutcome.FAILED, error=error
    )
    return PushResult(AttemptOutcome.FAILED, None, error)


def push(referral: Referral, kind: str) -> PushResult:
    """POST the packet (or retraction) to the authority's webhook and record the attempt.

    Transient failures (network errors, timeouts, 5xx, 429) come back as RETRY; any other 4xx is
    FAILED and must not be retried, and so is an authority without a webhook secret or with a
    URL that is not https (nothing is sent).
    """
    authority = referral.authority
    # Refused here too, not only by the admin's form: a URL saved another way (a shell, an older
    # release) must not get packets sent in clear or over another scheme urllib speaks (ftp).
    # Send nothing and let analysts see why (the operator fixes the authority, then an analyst
    # retries).
    if not webhook_url_allowed(authority.webhook_url):
        return _refuse_push(
            referral, kind, "The webhook URL is not an https:// address: nothing was sent."
        )
    if not authority.webhook_secret.strip():
        # Signed with an empty key the HMAC proves nothing.
        return _refuse_push(
            referral, kind, "No webhook secret is set for this authority: nothing was sent."
        )
    if kind == AttemptKind.RETRACTION:
        body_obj = {
            "type": "retraction",
            "referral_id": referral.pk,
            "case_id": referral.case_id,
            "sha256": referral.sha256,
            "retracted_at": referral.retracted_at.isoformat() if referral.retracted_at else None,
            "reason": referral.retraction_reason,
        }
    else:
        body_obj = {
            "type": "referral",
            "referral_id": referral.pk,
            "packet": json.loads(referral.packet_json),
            "sha256": referral.sha256,
            "signature": referral.signature,
            "key_id": referral.key_id,
        }
    body = canonical_json(body_obj)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Touchstone-Delivery/1",
        "Idempotency-Key": f"touchstone-{kind}-{referral.pk}-{referral.sha256[:16]}",
        "X-Touchstone-Timestamp": timestamp,
        "X-Touchstone-Signature": webhook_signature(authority.webhook_secret, timestamp, body),
    }
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above: https (or http if allowed)
        authority.webhook_url, data=body, headers=headers, method="POST"
    )
    started = time.monotonic()
    status_code: int | None = None
    error = ""
    try:
        with _webhook_opener.open(request, timeout=settings.DELIVERY_TIMEOUT_SECONDS) as response:
            status_code = response.status
    except urllib.error.HTTPError as exc:
        status_code = exc.code
        error = f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration_ms = int((time.monotonic() - started) * 1000)
    if status_code is not None and 200 <= status_code < 300:
        outcome = AttemptOutcome.SUCCESS
    elif status_code is None or status_code >= 500 or status_code in (408, 429):
        outcome = AttemptOutcome.RETRY
    else:
        outcome = AttemptOutcome.FAILED
    DeliveryAttempt.objects.create(
        referral=referral,
        kind=kind,
        outcome=outcome,
        status_code=status_code,
        error=error,
        duration_ms=duration_ms,
    )
    return PushResult(outcome, status_code, error)


def mark_pushed(referral_id: int, kind: str) -> None:
    now = timezone.now()
    if kind == AttemptKind.RETRACTION:
        Referral.objects.filter(pk=referral_id, retraction_delivered_at__isnull=True).update(
            retraction_delivered_at=now
        )
    else:
        Referral.objects.filter(
            pk=referral_id, status__in=[ReferralStatus.PENDING, ReferralStatus.FAILED]
        ).update(status=ReferralStatus.DELIVERED, delivered_at=now)


def park_failed(referral_id: int) -> None:
    """Give up after the cap: visible to analysts, who may retry."""
    Referral.objects.filter(pk=referral_id, status=ReferralStatus.PENDING).update(
        status=ReferralStatus.FAILED
    )


def park_failed_retraction(referral_id: int) -> None:
    """A retraction push given up: the authority may still act on the referral, so analysts
    see it (the referral page and list) and retry it once the endpoint is fixed."""
    Referral.objects.filter(
        pk=referral_id,
        status=ReferralStatus.RETRACTED,
        retraction_delivered_at__isnull=True,
        retraction_failed_at__isnull=True,
    ).update(retraction_failed_at=timezone.now())


def retry_failed_retraction(referral_id: int) -> bool:
    """An analyst's retry of a parked retraction: no longer parked, dispatched on commit."""
    with transaction.atomic():
        moved = Referral.objects.filter(
            pk=referral_id,
            status=ReferralStatus.RETRACTED,
            retraction_delivered_at__isnull=True,
            retraction_failed_at__isnull=False,
        ).update(retraction_failed_at=None)
        if moved:
            enqueue("referrals.tasks.deliver_retraction", referral_id)
    return bool(moved)


def retry_failed_delivery(referral_id: int) -> bool:
    """An analyst's retry of a parked referral: back to pending, dispatched on commit."""
    with transaction.atomic():
        moved = Referral.objects.filter(pk=referral_id, status=ReferralStatus.FAILED).update(
            status=ReferralStatus.PENDING
        )
        if moved:
            enqueue("referrals.tasks.deliver_referral", referral_id)
    return bool(moved)


# --- authority actions ---------------------------------------------------------------------


@transaction.atomic
def acknowledge_referral(referral_id: int, *, authority_reference: str) -> Referral:
    """The authority confirms receipt with its own reference. Repeating it changes nothing."""
    referral = Referral.objects.select_for_update().get(pk=referral_id)
    if referral.acknowledged_at is not None:
        if referral.authority_reference != authority_reference:
            raise ReferralConflict(
                "This referral was already acknowledged with reference "
                f"{referral.authority_reference!r}."
            )
        return referral
    referral.acknowledged_at = timezone.now()
    referral.authority_reference = authority_reference
    fields = ["acknowledged_at", "authority_reference"]
    if referral.status in (ReferralStatus.PENDING, ReferralStatus.DELIVERED, ReferralStatus.FAILED):
        if referral.delivered_at is None:
            referral.delivered_at = referral.acknowledged_at
            fields.append("delivered_at")
        referral.status = ReferralStatus.ACKNOWLEDGED
        fields.append("status")
    referral.save(update_fields=fields)
    return referral


def retract_referrals(case: Case, *, reason: str) -> list[Referral]:
    """Retract every referral of a reinstated case; retractions are owed in this transaction."""
    now = timezone.now()
    referrals = list(
        Referral.objects.select_for_update()
        .filter(case=case)
        .exclude(status=ReferralStatus.RETRACTED)
    )
    for referral in referrals:
        referral.status = ReferralStatus.RETRACTED
        referral.retracted_at = now
        referral.retraction_reason = reason
        referral.save(update_fields=["status", "retracted_at", "retraction_reason"])
        enqueue("referrals.tasks.deliver_retraction", referral.pk)
    return referrals


def log_access(
    *,
    action: str,
    referral: Referral | None,
    ip: str | None,
    user_agent: str,
    token: ApiToken | None = None,
    user: object | None = None,
    durable: bool = True,
) -> AccessLogEntry:
    """Record one read of a packet (or list, or acknowledgement): who, what, when, from where.

    An API client is identified by its token (and so its client); an analyst reading through
    the web session by ``user``. ``durable=False`` (a list, which shows no packet) lets the
    line commit without waiting for the WAL flush on PostgreSQL: a database crash can lose the
    last ~0.6 s of such lines, never corrupt them, and pullers that list all day do not wait
    for a flush each. Packet reads and acknowledgements stay durable.
    """
    if token is None and user is None:
        raise ValueError("An access is made by a token or a user.")
    entry = AccessLogEntry(
        referral=referral,
        client_id=token.client_id if token is not None else None,
        token=token,
        user=user,
        action=action,
        ip=ip,
        user_agent=(user_agent or "")[:500],
    )
    if durable or connection.vendor != "postgresql":
        entry.save(force_insert=True)
        return entry
    fields = [field for field in AccessLogEntry._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    sql = without_flush_wait(
        f"INSERT INTO {quote(AccessLogEntry._meta.db_table)} "  # noqa: S608 - model names only
        f"({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote('id')}"
    )
    values = insert_values(entry, fields)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        entry.pk = cursor.fetchone()[0]
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


def rotate_signing_key() -> tuple[str, str, object]:
    """Retire the current signing key (still published) and sign from now on with a new one."""
    return rotate_key()


# --- tokens --------------------------------------------------------------------------------


def issue_token(
    *,
    authority: Authority | None = None,
    user: object | None = None,
    client_name: str | None = None,
    token_name: str = "default",  # noqa: S107 - a label, not a secret
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with the raw secret, which is shown once and never stored."""
    if (authority is None) == (user is None):
        raise ValueError("A token is issued either to an authority or to a user.")
    if authority is not None:
        client, _ = ApiClient.objects.get_or_create(
            authority=authority, name=client_name or f"{authority.code} default client"
        )
    else:
        client, _ = ApiClient.objects.get_or_create(
            user=user, name=client_name or f"{user.get_username()} scripts"
        )
    raw = "ts_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        client=client,
        name=token_name,
        prefix=raw[:10],
        key_hash=hash_token(raw),
        expires_at=expires_at,
    )
    return token, raw


def revoke_token(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


__all__ = [
    "AccessAction",
    "ReferralConflict",
    "acknowledge_referral",
    "create_referrals",
    "ensure_default_authorities",
    "issue_token",
    "log_access",
    "make_pull_available",
    "park_failed",
    "push",
    "queue_dispatch",
    "retract_referrals",
    "retry_failed_delivery",
    "revoke_token",
    "rotate_signing_key",
]
