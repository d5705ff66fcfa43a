"""Counterfeit rings: sellers linked through shared identifiers, and the closed seller who returns.

A group (``Seller.link_group``) is a connected component of the graph whose nodes are sellers and
whose edges are shared identifiers (same kind and normalised value): A shares a phone with B and
B a bank account with C, so A, B and C are one group. Its id is the smallest seller id in it;
a seller sharing nothing has none.

Groups are kept current incrementally (``regroup``): only the components touched by the changed
sellers are recomputed, by a breadth-first walk over identifier matches from those sellers and
from everyone who was in their old groups — so a corrected identifier that cut the only link
splits the group. The ``(kind, value)`` index makes each step an index lookup.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, QuerySet

from counterfeits.choices import CaseState, ReportReason
from counterfeits.models import Case, Report

from .choices import SellerStatus
from .identity import BATCH, SharedIdentifier, _chunks, mask
from .models import RingAlert, Seller, SellerIdentifier

# An identifier shared by more accounts than this is a placeholder (a marketplace's forwarding
# address, a call centre), not evidence of one operator: it does not link.
HUB_LIMIT = 500
# Past this many changed sellers one pass over the whole identifier table is cheaper than walks.
FULL_PASS_THRESHOLD = 20_000
# Case states that mean the seller was found to sell fakes (and, for "closed for counterfeits",
# that the account closure followed).
CONFIRMED_STATES = (
    CaseState.CONFIRMED,
    CaseState.ACCOUNT_CLOSED,
    CaseState.APPEAL_REVIEW,
    CaseState.REFERRAL_PENDING,
    CaseState.REFERRED,
)
CLOSED_FOR_COUNTERFEITS_STATES = CONFIRMED_STATES[1:]
RING_NOTIFIER = "Touchstone ring detection"
# Advisory lock id serialising group recomputation: two imports must not interleave their writes.
_REGROUP_LOCK = 0x52494E47  # "RING"


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # The smaller id stays root: it is the group id we want anyway.
            if ra < rb:
                self.parent[rb] = ra
            else:
                self.parent[ra] = rb


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REGROUP_LOCK])


def _link(uf: _UnionFind, members: list[int]) -> None:
    if len(members) > HUB_LIMIT:
        return
    first = members[0]
    uf.find(first)
    for other in members[1:]:
        uf.union(first, other)


def _walk(seeds: set[int]) -> _UnionFind:
    """Components reachable from ``seeds`` through shared identifiers, as a union-find."""
    uf = _UnionFind()
    for pk in seeds:
        uf.find(pk)
    seen_sellers = set(seeds)
    seen_pairs: set[tuple[str, str]] = set()
    frontier = sorted(seeds)
    while frontier:
        pairs: dict[str, set[str]] = defaultdict(set)
        for chunk in _chunks(frontier):
            for kind, value in SellerIdentifier.objects.filter(seller_id__in=chunk).values_list(
                "kind", "value"
            ):
                if (kind, value) not in seen_pairs:
                    seen_pairs.add((kind, value))
                    pairs[kind].add(value)
        members: dict[tuple[str, str], list[int]] = defaultdict(list)
        for kind, values in pairs.items():
            ordered = sorted(values)
            for start in range(0, len(ordered), BATCH):
                rows = SellerIdentifier.objects.filter(
                    kind=kind, value__in=ordered[start : start + BATCH]
                ).values_list("value", "seller_id")
                for value, seller_id in rows:
                    members[(kind, value)].append(seller_id)
        frontier = []
        for sellers in members.values():
            if len(sellers) > HUB_LIMIT:
                continue
            _link(uf, sellers)
            for seller_id in sellers:
                if seller_id not in seen_sellers:
                    seen_sellers.add(seller_id)
                    frontier.append(seller_id)
    return uf


def _full_pass() -> _UnionFind:
    """Every component, in one ordered pass over the identifier table (bulk imports)."""
    uf = _UnionFind()
    current: tuple[str, str] | None = None
    members: list[int] = []
    rows = (
        SellerIdentifier.objects.order_by("kind", "value")
        .values_list("kind", "value", "seller_id")
        .iterator(chunk_size=20_000)
    )
    for kind, value, seller_id in rows:
        if (kind, value) != current:
            if len(members) > 1:
                _link(uf, members)
            current, members = (kind, value), []
        members.append(seller_id)
    if len(members) > 1:
        _link(uf, members)
    return uf


def _write_groups(uf: _UnionFind, sellers: Iterable[int] | None) -> int:
    """Store each seller's group id (smallest id of its component, none if alone)."""
    sizes: dict[int, int] = defaultdict(int)
    for pk in list(uf.parent):
        sizes[uf.find(pk)] += 1

    def wanted(pk: int) -> int | None:
        if pk not in uf.parent:
            return None
        root = uf.find(pk)
        return root if sizes[root] > 1 else None

    changed: list[Seller] = []
    if sellers is None:  # full pass: anyone may change, including to "no group"
        current = Seller.objects.filter(link_group__isnull=False).values_list("pk", "link_group")
        for pk, group in current.iterator(chunk_size=20_000):
            if wanted(pk) != group:
                changed.append(Seller(pk=pk, link_group=wanted(pk)))
        already = {seller.pk for seller in changed}
        for pk in uf.parent:
            group = wanted(pk)
            if group is not None and pk not in already:
                changed.append(Seller(pk=pk, link_group=group))
        # Those above with a stored group equal to the wanted one are re-written harmlessly.
    else:
        ids = sorted(set(sellers))
        for chunk in _chunks(ids):
            for pk, group in Seller.objects.filter(pk__in=chunk).values_list("pk", "link_group"):
                if wanted(pk) != group:
                    changed.append(Seller(pk=pk, link_group=wanted(pk)))
    _store_groups(changed)
    return len(changed)


def _store_groups(changed: list[Seller]) -> None:
    if connection.vendor != "postgresql":
        Seller.objects.bulk_update(changed, ["link_group"], batch_size=BATCH)
        return
    # One UPDATE … FROM unnest per 20 000 rows: bulk_update's CASE per row is far slower.
    table = connection.ops.quote_name(Seller._meta.db_table)
    sql = (
        f"UPDATE {table} AS s SET link_group = v.g "  # noqa: S608 - the model's own table
        "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, g) WHERE s.id = v.id"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(changed), 10 * BATCH):
            part = changed[start : start + 10 * BATCH]
            cursor.execute(sql, [[s.pk for s in part], [s.link_group for s in part]])


def holders_of_flipped(deltas: dict[tuple[str, str], int]) -> set[int]:
    """The holders of identifiers that started or stopped linking because of these changes.

    ``deltas`` is (kind, value) -> holders added minus removed. An identifier links while at
    most ``HUB_LIMIT`` sellers hold it: one that crossed the limit either way changes the groups
    of every holder, not only of the sellers that changed, so those holders are regrouped too.
    """
    changed = {pair: delta for pair, delta in deltas.items() if delta}
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, value in changed:
        by_kind[kind].append(value)
    flipped: list[tuple[str, str]] = []
    for kind, values in by_kind.items():
        ordered = sorted(values)
        for start in range(0, len(ordered), BATCH):
            counts = (
                SellerIdentifier.objects.filter(kind=kind, value__in=ordered[start : start + BATCH])
                .order_by()
                .values_list("value")
                .annotate(n=Count("id"))
            )
            found = dict(counts)
            for value in ordered[start : start + BATCH]:
                after = found.get(value, 0)
                before = after - changed[(kind, value)]
                if (before > HUB_LIMIT) != (after > HUB_LIMIT):
                    flipped.append((kind, value))
    holders: set[int] = set()
    for kind, value in flipped:
        holders.update(
            SellerIdentifier.objects.filter(kind=kind, value=value).values_list(
                "seller_id", flat=True
            )
        )
    return holders


def regroup(seller_ids: Iterable[int]) -> int:
    """Recompute the groups touched by these sellers; returns how many sellers changed group.

    The walk starts from the sellers and from every member of their current groups: if a
    corrected identifier cut the group in two, both halves are reached and get their own ids.
    """
    ids = {int(pk) for pk in seller_ids}
    if not ids:
        return 0
    with transaction.atomic():
        _lock()
        if len(ids) >= FULL_PASS_THRESHOLD:
            return _write_groups(_full_pass(), None)
        old_groups: set[int] = set()
        for chunk in _chunks(sorted(ids)):
            old_groups.update(
                Seller.objects.filter(pk__in=chunk, link_group__isnull=False).values_list(
                    "link_group", flat=True
                )
            )
        seeds = set(ids)
        for chunk in _chunks(sorted(old_groups)):
            seeds.update(Seller.objects.filter(link_group__in=chunk).values_list("pk", flat=True))
        uf = _walk(seeds)
        return _write_groups(uf, set(uf.parent) | seeds)


def regroup_all() -> int:
    """Recompute every group from scratch (after a bulk load, or to repair)."""
    with transaction.atomic():
        _lock()
        return _write_groups(_full_pass(), None)


# --- repeat offenders ----------------------------------------------------------------------------


def closed_for_counterfeits() -> QuerySet[Seller]:
    """Sellers whose account was closed on a confirmed counterfeit case (not reinstated)."""
    return Seller.objects.filter(
        Exists(
            Case.objects.filter(seller=OuterRef("pk"), state__in=CLOSED_FOR_COUNTERFEITS_STATES)
        ),
        status=SellerStatus.CLOSED,
    )


def _explanation(closed: Seller, shared: list[SharedIdentifier]) -> str:
    listed = "; ".join(f"{item.label} {item.masked}" for item in shared)
    return (
        f"This seller shares identifiers with seller #{closed.pk} ({closed.display_name}), "
        f"whose account was closed for selling counterfeits: {listed}. "
        "Raised automatically by ring detection; review the accounts before acting."
    )


def flag_repeat_offenders(seller_ids: Iterable[int]) -> list[Report]:
    """Raise one alert per (seller, closed-for-counterfeits seller) pair sharing an identifier
    (not a placeholder: one held by more than ``HUB_LIMIT`` accounts links nobody).

    The alert is a Report of reason ``linked_to_closed_seller`` for the brand of the closed
    seller's case, so it enters the analysts' queue like a brand's notice. Idempotent: a pair
    already alerted is not alerted again (``RingAlert`` is unique per pair).
    """
    ids = sorted({int(pk) for pk in seller_ids})
    closed_ids = closed_for_counterfeits().values("pk")
    matches: dict[tuple[int, int], list[SharedIdentifier]] = defaultdict(list)
    for chunk in _chunks(ids):
        closed_match = SellerIdentifier.objects.filter(
            seller_id__in=closed_ids, kind=OuterRef("kind"), value=OuterRef("value")
        )
        candidates = (
            SellerIdentifier.objects.filter(seller_id__in=chunk)
            .exclude(seller__status=SellerStatus.CLOSED)
            .filter(Exists(closed_match))
            .values_list("seller_id", "kind", "value")
        )
        pairs = list(candidates)
        if not pairs:
            continue
        by_pair: dict[tuple[str, str], list[int]] = defaultdict(list)
        for kind in {kind for _, kind, _ in pairs}:
            values = {value for _, k, value in pairs if k == kind}
            # A placeholder (held by more than HUB_LIMIT accounts) is no evidence: no alert.
            hubs = set(
                SellerIdentifier.objects.filter(kind=kind, value__in=values)
                .order_by()
                .values_list("value")
                .annotate(n=Count("id"))
                .filter(n__gt=HUB_LIMIT)
                .values_list("value", flat=True)
            )
            for value, closed_id in SellerIdentifier.objects.filter(
                seller_id__in=closed_ids, kind=kind, value__in=values - hubs
            ).values_list("value", "seller_id"):
                by_pair[(kind, value)].append(closed_id)
        for seller_id, kind, value in pairs:
            for closed_id in by_pair[(kind, value)]:
                if closed_id != seller_id:
                    matches[(seller_id, closed_id)].append(
                        SharedIdentifier(kind=kind, masked=mask(kind, value))
                    )
    if not matches:
        return []
    done = set(
        RingAlert.objects.filter(
            seller_id__in={s for s, _ in matches}, closed_seller_id__in={c for _, c in matches}
        ).values_list("seller_id", "closed_seller_id")
    )
    todo = {pair: shared for pair, shared in matches.items() if pair not in done}
    if not todo:
        return []
    closed_sellers = Seller.objects.in_bulk({c for _, c in todo})
    brand_of: dict[int, int] = {}
    for seller_id, brand_id in (
        Case.objects.filter(seller_id__in=closed_sellers, state__in=CLOSED_FOR_COUNTERFEITS_STATES)
        .order_by("seller_id", "-id")
        .values_list("seller_id", "brand_id")
    ):
        brand_of.setdefault(seller_id, brand_id)
    reports: list[Report] = []
    with transaction.atomic():
        for (seller_id, closed_id), shared in sorted(todo.items()):
            shared = sorted(set(shared), key=lambda item: (item.kind, item.masked))
            alert, created = RingAlert.objects.get_or_create(
                seller_id=seller_id,
                closed_seller_id=closed_id,
                defaults={"shared_kinds": sorted({item.kind for item in shared})},
            )
            if not created:
                continue  # a concurrent refresh raised it first
            report = Report.objects.create(
                brand_id=brand_of[closed_id],
                reporter=None,
                seller_id=seller_id,
                reason=ReportReason.LINKED_TO_CLOSED_SELLER,
                explanation=_explanation(closed_sellers[closed_id], shared),
                notifier_name=RING_NOTIFIER,
                notifier_email=settings.DEFAULT_FROM_EMAIL,
                good_faith=True,
            )
            alert.report = report
            alert.save(update_fields=["report"])
            reports.append(report)
    return reports


# --- reading a group -------------------------------------------------------------------------

# A drawing with more accounts than this says nothing more; the API says it was cut.
MAX_NETWORK_NODES = 200
# Above the trusted-flagger lane (2): a ring with a closed counterfeiter in it comes first.
PRIORITY_RING_WITH_CLOSED_SELLER = 3


def group_members(seller: Seller, *, limit: int | None = MAX_NETWORK_NODES) -> list[Seller]:
    """The sellers of ``seller``'s group, itself first; just the seller when it shares nothing."""
    if seller.link_group is None:
        return [seller]
    others = Seller.objects.filter(link_group=seller.link_group).exclude(pk=seller.pk)
    if limit is not None:
        others = others[: limit - 1]
    return [seller, *others]


def shared_between(seller_ids: list[int]) -> dict[tuple[int, int], list[SharedIdentifier]]:
    """Who shares what among these sellers: {(a, b) with a < b: [shared identifiers]}; 1 query."""
    holders: dict[tuple[str, str], list[int]] = defaultdict(list)
    rows = SellerIdentifier.objects.filter(seller_id__in=seller_ids).values_list(
        "kind", "value", "seller_id"
    )
    for kind, value, seller_id in rows:
        holders[(kind, value)].append(seller_id)
    return _edges(holders)


def _edges(
    holders: dict[tuple[str, str], list[int]],
) -> dict[tuple[int, int], list[SharedIdentifier]]:
    """The pairs of sellers holding the same identifier (holders by (kind, value))."""
    edges: dict[tuple[int, int], list[SharedIdentifier]] = defaultdict(list)
    for (kind, value), sellers in sorted(holders.items()):
        if len(sellers) < 2 or len(sellers) > HUB_LIMIT:
            continue
        shared = SharedIdentifier(kind=kind, masked=mask(kind, value))
        ordered = sorted(set(sellers))
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                edges[(a, b)].append(shared)
    return dict(edges)


def network(seller: Seller) -> dict:
    """The seller's group as a graph: nodes (sellers with their cases) and edges (what links
    whom, masked). A constant four queries whatever the group's size."""
    members = group_members(seller)
    ids = [member.pk for member in members]
    cases_of: dict[int, list[dict]] = defaultdict(list)
    for case in (
        Case.objects.filter(seller_id__in=ids)
        .order_by("-id")
        .values("id", "seller_id", "state", "brand__name")
    ):
        cases_of[case["seller_id"]].append(
            {"id": case["id"], "state": case["state"], "brand": case["brand__name"]}
        )
    edges = shared_between(ids)
    return {
        "seller": seller.pk,
        "group": seller.link_group,
        "truncated": len(members) >= MAX_NETWORK_NODES,
        "nodes": [
            {
                "id": member.pk,
                "name": member.name,
                "company_name": member.company_name,
                "country": member.country,
                "status": member.status,
                "cases": cases_of.get(member.pk, []),
            }
            for member in members
        ],
        "edges": [
            {
                "seller_a": a,
                "seller_b": b,
                "kinds": sorted({item.kind for item in shared}),
                "shared": [item.as_dict() for item in shared],
            }
            for (a, b), shared in sorted(edges.items())
        ],
    }


@dataclass
class RingMember:
    """A seller of the case's group under review: what it shares directly and its cases."""

    seller: Seller
    shared: list[SharedIdentifier] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)

    @property
    def closed_for_counterfeits(self) -> bool:
        return self.seller.status == SellerStatus.CLOSED and any(
            case.state in CLOSED_FOR_COUNTERFEITS_STATES for case in self.cases
        )


def ring_review(case: Case) -> list[RingMember]:
    """The other sellers of the case's group that have cases (open or closed), for review when
    the case is confirmed; closed counterfeiters first. Direct links are listed in ``shared``;
    a seller reached only through others has none."""
    seller = case.seller
    members = group_members(seller, limit=None)
    if len(members) < 2:
        return []
    cases_of: dict[int, list[Case]] = defaultdict(list)
    for other in (
        Case.objects.filter(seller_id__in=[m.pk for m in members[1:]])
        .select_related("brand")
        .order_by("-id")
    ):
        cases_of[other.seller_id].append(other)
    with_cases = [m for m in members[1:] if m.pk in cases_of]
    edges = shared_between([seller.pk, *(m.pk for m in with_cases)])
    review = [
        RingMember(
            seller=member,
            shared=edges.get(tuple(sorted((seller.pk, member.pk))), []),
            cases=cases_of[member.pk],
        )
        for member in with_cases
    ]
    return sorted(
        review, key=lambda m: (not m.closed_for_counterfeits, -len(m.shared), m.seller.pk)
    )


def bump_priority_for_ring(case: Case) -> bool:
    """Raise the case's priority when its seller's group holds a seller closed for counterfeits.

    Called when a case is confirmed. Only ever raises; returns whether it did.
    """
    seller = case.seller
    if seller.link_group is None:
        return False
    in_ring = (
        closed_for_counterfeits()
        .filter(link_group=seller.link_group)
        .exclude(pk=seller.pk)
        .exists()
    )
    if not in_ring or case.priority >= PRIORITY_RING_WITH_CLOSED_SELLER:
        return False
    # A plain update: the case row is protected by its FSM field, and priority is no state.
    Case.objects.filter(pk=case.pk, priority__lt=PRIORITY_RING_WITH_CLOSED_SELLER).update(
        priority=PRIORITY_RING_WITH_CLOSED_SELLER
    )
    case.priority = PRIORITY_RING_WITH_CLOSED_SELLER
    return True


def linked_sellers_for_packet(case: Case) -> list[dict]:
    """The packet's ``linked_sellers``: other sellers of the group whose own cases were confirmed.

    Only confirmed counterfeiters are disclosed to an authority: an innocent seller who shares
    a warehouse address with a counterfeiter is never named. ``shared`` lists the identifier
    kinds shared directly with the case's seller or, when linked only through others, the kinds
    that tie that seller into the group.
    """
    seller = case.seller
    if seller.link_group is None:
        return []
    return linked_sellers_by_seller([(seller.pk, seller.link_group)])[seller.pk]


def linked_sellers_by_seller(sellers: Iterable[tuple[int, int]]) -> dict[int, list[dict]]:
    """:func:`linked_sellers_for_packet` for many sellers, given as (seller id, link group):
    one query, and two more when any of them has a linked seller to name, however many there
    are (the deadline sweep's batches)."""
    group_of = dict(sellers)
    if not group_of:
        return {}
    confirmed = Case.objects.filter(seller_id=OuterRef("pk"), state__in=CONFIRMED_STATES)
    referred = Case.objects.filter(seller_id=OuterRef("pk"), state=CaseState.REFERRED)
    candidates: dict[int, list[dict]] = defaultdict(list)
    for other in (
        Seller.objects.filter(Exists(confirmed), link_group__in=set(group_of.values()))
        .annotate(was_referred=Exists(referred))
        .order_by("pk")
        .values("pk", "link_group", "name", "company_name", "country", "status", "was_referred")
    ):
        candidates[other["link_group"]].append(other)
    linked = {
        seller_id: [other for other in candidates[group] if other["pk"] != seller_id]
        for seller_id, group in group_of.items()
    }
    # What links whom, within each group that has someone to name (shared_between per group).
    groups = {group_of[seller_id] for seller_id, others in linked.items() if others}
    members: dict[int, list[int]] = defaultdict(list)
    for seller_id, group in Seller.objects.filter(link_group__in=groups).values_list(
        "pk", "link_group"
    ):
        members[group].append(seller_id)
    edges = _shared_within(members)
    # Linked through others: the kinds that tie a seller into its group, from every edge it is
    # on, gathered once per group rather than rescanned for each seller that names it.
    touching: dict[int, set[str]] = defaultdict(set)
    for within in edges.values():
        for pair, items in within.items():
            for seller_id in pair:
                touching[seller_id].update(item.kind for item in items)

    def kinds(seller_id: int, other: int) -> list[str]:
        direct = edges[group_of[seller_id]].get((min(seller_id, other), max(seller_id, other)))
        return sorted({item.kind for item in direct} if direct else touching[other])

    return {
        seller_id: [
            {
                "name": other["name"],
                "company_name": other["company_name"],
                "country": other["country"],
                "shared": kinds(seller_id, other["pk"]),
                "account_status": other["status"],
                "referred": other["was_referred"],
            }
            for other in others
        ]
        for seller_id, others in linked.items()
    }


def _shared_within(
    groups: dict[int, list[int]],
) -> dict[int, dict[tuple[int, int], list[SharedIdentifier]]]:
    """:func:`shared_between` the members of each group, for many groups in one query."""
    group_of = {seller_id: group for group, ids in groups.items() for seller_id in ids}
    holders: dict[int, dict[tuple[str, str], list[int]]] = defaultdict(lambda: defaultdict(list))
    if group_of:
        for kind, value, seller_id in SellerIdentifier.objects.filter(
            seller_id__in=list(group_of)
        ).values_list("kind", "value", "seller_id"):
            holders[group_of[seller_id]][(kind, value)].append(seller_id)
    return {group: _edges(holders[group]) for group in groups}


def ring_brand(seller: Seller) -> int | None:
    """The brand a case on a linked seller would be about: that of the latest confirmed case
    in the seller's group (a ring sells the fakes it was caught with)."""
    if seller.link_group is None:
        return None
    return (
        Case.objects.filter(seller__link_group=seller.link_group, state__in=CONFIRMED_STATES)
        .order_by("-id")
        .values_list("brand_id", flat=True)
        .first()
    )


@transaction.atomic
def open_case_on_linked_seller(
    seller: Seller, *, actor: AbstractBaseUser, brand_id: int, reason: str = ""
) -> Case:
    """Open a case on a seller found through its ring, from the network view.

    Cases are opened from reports: the seller's pending ring alert for this brand is used when
    there is one, otherwise a ring-detection report is filed on the analyst's behalf.
    Refused (``ValueError``) when the seller already has an open case for the brand.
    """
    from counterfeits.choices import ReportStatus
    from counterfeits.services import open_case

    if Case.objects.filter(seller=seller, brand_id=brand_id, state=CaseState.OPEN).exists():
        raise ValueError("This seller already has an open case for this brand.")
    report = (
        Report.objects.select_for_update()
        .filter(
            seller=seller,
            brand_id=brand_id,
            reason=ReportReason.LINKED_TO_CLOSED_SELLER,
            case__isnull=True,
            status__in=[ReportStatus.RECEIVED, ReportStatus.IN_REVIEW],
        )
        .order_by("id")
        .first()
    )
    if report is None:
        kinds = sorted(
            {
                item.label
                for (a, b), items in shared_between(
                    [m.pk for m in group_members(seller, limit=None)]
                ).items()
                if seller.pk in (a, b)
                for item in items
            }
        )
        report = Report.objects.create(
            brand_id=brand_id,
            reporter=actor,
            seller=seller,
            reason=ReportReason.LINKED_TO_CLOSED_SELLER,
            explanation=(
                "Opened from the linked-seller network: this account shares "
                f"{', '.join(kinds) or 'identifiers'} with sellers of a confirmed case."
            ),
            notifier_name=RING_NOTIFIER,
            notifier_email=settings.DEFAULT_FROM_EMAIL,
            good_faith=True,
        )
    return open_case(
        report_ids=[report.pk], actor=actor, reason=reason or "opened from the ring network"
    )
