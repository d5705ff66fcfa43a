"""The sweep writes rows, not models: what it records must be what referring one case records.

Its packets are byte for byte ``canonical_json(packet_for(...))`` of the case's facts as they
stood, signed with the published key; its events chain; a batch of ring sellers names the same
linked sellers as one case at a time.
"""

import base64
import hashlib
import json
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.utils import timezone

from counterfeits.audit import GENESIS, event_row, insert_events, verify_case_chain
from counterfeits.choices import CaseState
from counterfeits.models import Case, CaseEvent
from counterfeits.services import expire_appeal_window, sweep_deadlines
from referrals.models import Referral, SigningKey
from referrals.packets import load_case_facts, packet_for, packet_text
from referrals.signing import canonical_json
from sellers.identity import refresh_identifiers
from sellers.rings import linked_sellers_for_packet
from tests.factories import (
    CaseFactory,
    EvidenceFactory,
    ListingFactory,
    MarketplaceFactory,
    SaleFactory,
    SellerFactory,
    TrademarkFactory,
    force_state,
)

# Characters that COPY's text format and JSON both escape, and some that neither does.
AWKWARD = 'Zoë "Z" O\'Brien \\ tab\there, line\nbreak\r, 北京'


def due_case(*, seller=None, state: str = CaseState.ACCOUNT_CLOSED, **seller_fields) -> Case:
    """A case whose window ran out: sold on the US and German sites, to Americans and Germans,
    with a trademark and evidence, so that it goes to both authorities with a full packet."""
    seller = seller or SellerFactory(country="US", **seller_fields)
    case = CaseFactory(seller=seller)
    TrademarkFactory(brand=case.brand)
    for code in ("us", "de"):
        listing = ListingFactory(
            seller=seller, product__brand=case.brand, marketplace=MarketplaceFactory(code=code)
        )
        case.listings.add(listing)
        SaleFactory(listing=listing, units=2)
    EvidenceFactory(case=case, description=f"Receipt of a test buy: {AWKWARD}")
    closed = timezone.now() - timedelta(days=31)
    force_state(case, state, account_closed_at=closed, appeal_deadline=closed + timedelta(days=30))
    for seq, (transition, before, after) in enumerate(
        [("open", "", "open"), ("confirm", "open", "confirmed"),
         ("close_account", "confirmed", "account_closed")],
        start=1,
    ):  # fmt: skip
        record_arranged_event(case, seq, transition, before, after)
    return Case.objects.select_related("seller", "brand").get(pk=case.pk)


def record_arranged_event(case: Case, seq: int, transition: str, before: str, after: str) -> None:
    last = CaseEvent.objects.filter(case=case).order_by("-seq").values_list("hash", flat=True)
    row = event_row(
        case.pk, seq, transition, before, after, actor_id=None, actor_label="system",
        actor_role="system", reason=f"arranged {transition}", at=timezone.now(),
        prev_hash=last.first() or GENESIS,
    )  # fmt: skip
    insert_events([row])


def verifies(referral: Referral) -> bool:
    key = SigningKey.objects.get(key_id=referral.key_id)
    digest = hashlib.sha256(referral.packet_json.encode("utf-8")).digest()
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key))
    public.verify(base64.b64decode(referral.signature), digest)  # raises if it does not verify
    return digest.hex() == referral.sha256


def test_the_sweeps_packets_are_packet_for_the_case_byte_for_byte(authorities):
    # Given a due case whose seller's name and evidence hold characters COPY and JSON escape
    case = due_case(name=AWKWARD, address_line2="c/o\tDock 4\\B")
    facts = load_case_facts([case])[case.pk]

    # When the sweep refers it
    assert sweep_deadlines() == 1

    # Then each packet is the canonical JSON of packet_for over the facts as they stood, with
    # the window's expiry in the timeline, and its signature verifies with the published key
    expiry = CaseEvent.objects.get(case=case, transition="expire_appeal_window")
    facts.add_event(expiry)
    referrals = list(Referral.objects.filter(case=case).select_related("authority"))
    assert sorted(r.authority.code for r in referrals) == ["EU-IPC3", "US-IPRC"]
    for referral in referrals:
        expected = canonical_json(
            packet_for(
                facts,
                referral_id=referral.pk,
                authority=referral.authority,
                created_at=referral.created_at,
                legal_basis=referral.legal_basis,
            )
        )
        assert referral.packet_json.encode("utf-8") == expected
        assert verifies(referral)
    packet = json.loads(referrals[0].packet_json)
    assert packet["seller"]["name"] == AWKWARD
    assert packet["seller"]["address"]["line2"] == "c/o\tDock 4\\B"
    assert packet["evidence"][0]["description"] == f"Receipt of a test buy: {AWKWARD}"
    assert [item["event"] for item in packet["timeline"]] == [
        "open", "confirm", "close_account", "expire_appeal_window",
    ]  # fmt: skip
    assert packet["products"][0]["units_sold"] == 2
    assert packet["brand"]["trademarks"] == [
        {"office": tm.office, "number": tm.number} for tm in case.brand.trademarks.all()
    ]


def test_the_sweep_records_what_referring_one_case_records(authorities):
    # Given two due cases alike but for their seller, one referred on its own first
    alone = due_case()
    swept = due_case()
    expire_appeal_window(alone.pk)

    # When the sweep refers the other
    assert sweep_deadlines() == 1

    # Then both are referred with the same events, referrals and packet shape
    def recorded(case: Case) -> dict:
        stored = Case.objects.get(pk=case.pk)
        referrals = Referral.objects.filter(case=case).order_by("authority__code")
        packets = [json.loads(r.packet_json) for r in referrals]
        return {
            "state": stored.state,
            "closed_when_referred": stored.closed_at == stored.referred_at is not None,
            "events": list(
                CaseEvent.objects.filter(case=case, seq__gt=3)
                .order_by("seq")
                .values_list(
                    "transition", "from_state", "to_state", "actor_label", "actor_role", "reason"
                )
            ),
            "referrals": [
                (
                    r.authority.code,
                    r.status,
                    r.legal_basis,
                    r.profile,
                    r.seller_country,
                    r.brand_name == case.brand.name,
                    r.key_id,
                    r.delivered_at == r.created_at,
                )
                for r in referrals
            ],
            "packet keys": [sorted(p) for p in packets],
            "timelines": [[(t["event"], t["actor_role"]) for t in p["timeline"]] for p in packets],
            "authorities": [p["authority"] for p in packets],
        }

    alone_recorded, swept_recorded = recorded(alone), recorded(swept)
    assert swept_recorded == alone_recorded
    assert swept_recorded["state"] == CaseState.REFERRED
    assert swept_recorded["closed_when_referred"]
    assert [e[0] for e in swept_recorded["events"]] == ["expire_appeal_window", "refer"]
    assert verify_case_chain(alone.pk) is None
    assert verify_case_chain(swept.pk) is None


def test_a_batch_mixing_closed_and_pending_cases_writes_each_its_own_events(authorities):
    # Given a case whose window ran out and one already in referral_pending, in one batch
    closed = due_case()
    pending = due_case(state=CaseState.REFERRAL_PENDING)

    # When the sweep refers both
    assert sweep_deadlines(batch_size=10) == 2

    # Then the closed one expires then refers, the pending one only refers; both chains hold
    def transitions(case: Case) -> list[tuple[str, str, str]]:
        return list(
            CaseEvent.objects.filter(case=case, seq__gt=3)
            .order_by("seq")
            .values_list("transition", "from_state", "to_state")
        )

    assert transitions(closed) == [
        ("expire_appeal_window", "account_closed", "referral_pending"),
        ("refer", "referral_pending", "referred"),
    ]
    assert transitions(pending) == [("refer", "referral_pending", "referred")]
    for case in (closed, pending):
        assert Case.objects.get(pk=case.pk).state == CaseState.REFERRED
        assert verify_case_chain(case.pk) is None


def ring_seller(phone: str, **fields):
    made = SellerFactory(country="US", phone=phone, **fields)
    refresh_identifiers([made.pk])
    made.refresh_from_db()
    return made


def test_ring_sellers_swept_in_one_batch_name_the_same_linked_sellers(authorities):
    # Given two rings, each with a referred counterfeiter, and three of their sellers due
    first = [ring_seller("0151 2345 6789") for _ in range(3)]
    second = [ring_seller("0170 9876 5432") for _ in range(2)]
    for member in (first[0], second[0]):
        force_state(CaseFactory(seller=member), CaseState.REFERRED)
    cases = [due_case(seller=first[1]), due_case(seller=first[2]), due_case(seller=second[1])]
    expected = {case.pk: linked_sellers_for_packet(case) for case in cases}
    assert all(expected.values())

    # When one batch sweeps them
    assert sweep_deadlines(batch_size=10) == 3

    # Then each packet names what a packet built for that case alone names
    for case in cases:
        for referral in Referral.objects.filter(case=case):
            assert json.loads(referral.packet_json)["linked_sellers"] == expected[case.pk]


def test_packet_text_is_the_canonical_json_of_packet_for(authorities):
    # Given a case's facts, encoded once for a first packet
    case = due_case(name=AWKWARD)
    facts = load_case_facts([case])[case.pk]
    at = timezone.now()
    us, eu = authorities["US-IPRC"], authorities["EU-IPC3"]
    packet_text(facts, referral_id=1, authority=us, created_at=at)

    # When an event is added after that, and packets are made for two authorities
    facts.add_event(CaseEvent.objects.filter(case=case).order_by("-seq").first())
    texts = [
        packet_text(facts, referral_id=n, authority=authority, created_at=at)
        for n, authority in enumerate((us, eu), start=2)
    ]

    # Then each is canonical_json(packet_for(...)), the new event included
    for n, (authority, text) in enumerate(zip((us, eu), texts, strict=True), start=2):
        expected = packet_for(facts, referral_id=n, authority=authority, created_at=at)
        assert text.encode("utf-8") == canonical_json(expected)
        assert len(json.loads(text)["timeline"]) == 4
