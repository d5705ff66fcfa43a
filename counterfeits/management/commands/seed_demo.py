"""``manage.py seed_demo``: a realistic demo, with cases in every state, made through the services.

Every case reaches its state through the same service functions the API and the workers call
(``open_case``, ``confirm_case``, ``close_account``, ``file_appeal``, ``decide_appeal``,
``expire_appeal_window``, ``refer_case``), so every case has a valid hash-chained timeline and
real signed referral packets. Running it again changes nothing: rows are found by their demo
identifiers (``demo-...`` external ids, usernames, brand names) and a case scenario whose seller
already has a case for that brand is skipped.

The demo has a past: each scenario is replayed at the times of its own story (reports over the
last eight weeks, appeal windows that ran out, three that end in the coming days) under a
``PastClock``, so every timestamp, including each CaseEvent's hashed ``at``, is written as it
would have been then, and every chain verifies.
"""

import os
import random
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from appeals import services as appeal_services
from appeals.choices import AppealOutcome
from appeals.models import Appeal
from config.celery import app as celery_app
from counterfeits import services as case_services
from counterfeits.choices import CaseState, EvidenceKind, MembershipRole, ReportReason
from counterfeits.intake import EvidenceUpload
from counterfeits.models import Brand, BrandMembership, Case, Report, Trademark
from counterfeits.roles import ANALYST, BRAND_OWNER, REVIEWER
from listings.models import Listing, Marketplace, Product, Sale
from referrals import services as referral_services
from referrals.models import Authority, Referral
from sellers.identity import refresh_identifiers
from sellers.models import RingAlert, Seller

DEFAULT_PASSWORD = "touchstone-demo"  # noqa: S105 - a documented demo password, printed
MARKER = "demo-"

# --- the demo world ------------------------------------------------------------------------

MARKETPLACES = [
    ("us", "Marketplace United States", "US"),
    ("de", "Marktplatz Deutschland", "DE"),
    ("fr", "Marché France", "FR"),
    ("uk", "Marketplace United Kingdom", "GB"),
]
CURRENCY = {"us": "USD", "de": "EUR", "fr": "EUR", "uk": "GBP"}
# Where a marketplace's customers live: mostly home, some cross-border.
CUSTOMER_COUNTRIES = {
    "us": ["US", "US", "US", "CA"],
    "de": ["DE", "DE", "AT", "NL"],
    "fr": ["FR", "FR", "BE", "ES"],
    "uk": ["GB", "GB", "GB", "IE"],
}

BRANDS = {
    "Aurelia Audio": {
        "verified": True,
        "trademarks": [("USPTO", "6123457", "9"), ("EUIPO", "018765432", "9")],
    },
    "Voltique": {
        "verified": True,
        "trademarks": [("USPTO", "5987654", "9"), ("EUIPO", "018111222", "9")],
    },
    "Medora Pharma": {
        "verified": True,
        "trademarks": [("USPTO", "4876543", "5"), ("EUIPO", "017654321", "5")],
    },
    "Kestrel Outdoor": {
        "verified": False,
        "trademarks": [("USPTO", "7012345", "25"), ("EUIPO", "018999001", "25")],
    },
}

# username -> (first, last, groups, {brand: membership role}, is superuser)
USERS = {
    "admin": ("Ada", "Operator", [], {}, True),
    "analyst": ("Alex", "Analyst", [ANALYST], {}, False),
    "reviewer": ("Robin", "Reviewer", [REVIEWER], {}, False),
    "brand": (
        "Bea",
        "Brandt",
        [BRAND_OWNER],
        {"Aurelia Audio": MembershipRole.OWNER, "Voltique": MembershipRole.MEMBER},
        False,
    ),
    "aurelia-legal": ("Noah", "Fischer", [BRAND_OWNER], {"Aurelia Audio": "member"}, False),
    "voltique-ip": ("Inès", "Garnier", [BRAND_OWNER], {"Voltique": "owner"}, False),
    "medora-ip": ("Priya", "Raman", [BRAND_OWNER], {"Medora Pharma": "owner"}, False),
    "kestrel-ip": ("Sam", "Okafor", [BRAND_OWNER], {"Kestrel Outdoor": "owner"}, False),
}

# key -> (brand, title, GTIN body without check digit, safety risk, price in USD)
PRODUCTS = {
    "AUR-HP100": ("Aurelia Audio", "Aurelia Pro Wireless Noise-Cancelling Headphones",
                  "501234500100", False, "349.00"),
    "AUR-EB20": ("Aurelia Audio", "Aurelia Air Wireless Earbuds", "501234500201", False,
                 "179.00"),
    "VOL-GAN65": ("Voltique", "Voltique 65W USB-C GaN Charger", "761234500650", True, "59.00"),
    "VOL-PB20K": ("Voltique", "Voltique 20000 mAh Power Bank", "761234502000", False, "79.00"),
    "MED-IBU400": ("Medora Pharma", "Medora Ibuprofen 400 mg, 50 film-coated tablets",
                   "400123404000", True, "12.50"),
    "KES-ALP": ("Kestrel Outdoor", "Kestrel Alpine Gore Shell Jacket", "089123400010", False,
                "429.00"),
    "KES-TRB": ("Kestrel Outdoor", "Kestrel Trail Hiking Boots", "089123400020", False, "189.00"),
}  # fmt: skip


@dataclass(frozen=True)
class SellerSpec:
    name: str
    company: str
    registration: str
    tax_id: str
    email: str
    phone: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    # (product key, marketplace code)
    listings: tuple[tuple[str, str], ...]


SELLERS: dict[str, SellerSpec] = {
    "01": SellerSpec("Jordan Ellis", "Ellis Direct LLC", "DE LLC 7712034", "EIN 84-3920117",
                     "jordan@ellisdirect.example", "+1 302 555 0147", "1209 Orange Street", "",
                     "Wilmington", "DE", "19801", "US", (("AUR-HP100", "us"), ("AUR-EB20", "us"))),
    "02": SellerSpec("Lukas Brandt", "Brandt Handels GmbH", "HRB 204519 (AG München)",
                     "DE318204771", "lukas.brandt@brandt-handel.example", "+49 89 5550 1823",
                     "Leopoldstraße 112", "", "München", "Bayern", "80802", "DE",
                     (("KES-ALP", "de"), ("KES-TRB", "de"))),
    "03": SellerSpec("Camille Laurent", "Laurent Distribution SARL", "RCS Lyon 852 410 337",
                     "FR40852410337", "camille@laurent-distribution.example", "+33 4 55 50 12 84",
                     "14 rue de la République", "2e étage", "Lyon", "Auvergne-Rhône-Alpes",
                     "69002", "FR", (("AUR-EB20", "fr"), ("AUR-HP100", "fr"))),
    "04": SellerSpec("Oliver Bennett", "Bennett Outdoor Supplies Ltd", "Companies House 12873344",
                     "GB318447109", "oliver@bennett-outdoor.example", "+44 161 555 0192",
                     "42 Deansgate", "", "Manchester", "Greater Manchester", "M3 2EG", "GB",
                     (("KES-TRB", "uk"),)),
    "05": SellerSpec("Wei Zhang", "Shenzhen Brightwave Trading Co., Ltd.",
                     "USCC 91440300MA5G3K2X7P", "91440300MA5G3K2X7P", "sales@brightwave-sz.example",
                     "+86 755 5550 3321", "Room 1708, Block B, Huaqiang Plaza", "Futian District",
                     "Shenzhen", "Guangdong", "518031", "CN", (("AUR-HP100", "us"),)),
    "06": SellerSpec("Maria Gonzalez", "Sunbelt Gadget Outlet Inc.", "TX 0803341265",
                     "EIN 27-5510384", "maria@sunbelt-gadgets.example", "+1 512 555 0178",
                     "700 Congress Avenue", "Suite 300", "Austin", "TX", "78701", "US",
                     (("AUR-EB20", "us"), ("AUR-EB20", "uk"))),
    "07": SellerSpec("Julien Moreau", "Moreau Sports EURL", "RCS Paris 901 223 456",
                     "FR12901223456", "julien@moreau-sports.example", "+33 1 55 50 44 21",
                     "8 boulevard Voltaire", "", "Paris", "Île-de-France", "75011", "FR",
                     (("KES-ALP", "fr"), ("KES-ALP", "de"))),
    "08": SellerSpec("Amelia Hughes", "Hughes Audio Trading Ltd", "Companies House 13390127",
                     "GB402118733", "amelia@hughes-audio.example", "+44 20 5550 8841",
                     "221 Camden High Street", "", "London", "Greater London", "NW1 7BU", "GB",
                     (("AUR-HP100", "uk"),)),
    "09": SellerSpec("Jonas Weber", "Weber Outdoor UG (haftungsbeschränkt)",
                     "HRB 118832 (AG Hamburg)", "DE329118820", "jonas@weber-outdoor.example",
                     "+49 40 5550 7712", "Mönckebergstraße 7", "", "Hamburg", "Hamburg", "20095",
                     "DE", (("KES-TRB", "de"),)),
    "10": SellerSpec("Li Na", "Guangzhou Sonic Star Electronics Co., Ltd.",
                     "USCC 91440101MA59TQ8R4B", "91440101MA59TQ8R4B", "lina@sonicstar-gz.example",
                     "+86 20 5550 8812", "No. 88 Tianhe Road", "Tianhe District", "Guangzhou",
                     "Guangdong", "510620", "CN", (("AUR-EB20", "us"), ("AUR-EB20", "de"))),
    "11": SellerSpec("Chen Hao", "Dongguan Rapidcharge Technology Co., Ltd.",
                     "USCC 91441900MA4W7L3N2C", "91441900MA4W7L3N2C",
                     "export@rapidcharge-dg.example", "+86 769 5550 2290",
                     "Building 3, Songshan Lake Hi-Tech Park", "", "Dongguan", "Guangdong",
                     "523808", "CN", (("VOL-GAN65", "de"), ("VOL-GAN65", "fr"),
                                      ("VOL-GAN65", "us"))),
    "12": SellerSpec("Derek Wallace", "Wallace Wellness Supply LLC", "FL L19000231874",
                     "EIN 83-2291045", "derek@wallace-wellness.example", "+1 305 555 0133",
                     "1450 Brickell Avenue", "Floor 19", "Miami", "FL", "33131", "US",
                     (("MED-IBU400", "us"),)),
    "13": SellerSpec("Sophie Martin", "Alpes Équipement SAS", "RCS Grenoble 880 145 902",
                     "FR77880145902", "sophie@alpes-equipement.example", "+33 4 55 50 77 10",
                     "3 place Grenette", "", "Grenoble", "Auvergne-Rhône-Alpes", "38000", "FR",
                     (("KES-ALP", "fr"),)),
    "14": SellerSpec("Anna Schneider", "Schneider Elektronik Versand e.K.",
                     "HRA 98821 (AG Köln)", "DE301998214", "anna@schneider-versand.example",
                     "+49 221 5550 4410", "Hohe Straße 51", "", "Köln", "Nordrhein-Westfalen",
                     "50667", "DE", (("AUR-HP100", "de"),)),
    "15": SellerSpec("Tyler Brooks", "Brooks Mobile Accessories LLC", "OR 1688230-97",
                     "EIN 46-7720193", "tyler@brooks-mobile.example", "+1 503 555 0166",
                     "820 SW Broadway", "", "Portland", "OR", "97205", "US",
                     (("VOL-PB20K", "us"),)),
    "16": SellerSpec("Harriet Cole", "Cole & Daughters Chemists Ltd", "Companies House 08812345",
                     "GB188123450", "harriet@cole-chemists.example", "+44 117 555 0120",
                     "17 Park Street", "", "Bristol", "Bristol", "BS1 5NH", "GB",
                     (("MED-IBU400", "uk"),)),
    "17": SellerSpec("Liu Yang", "Shenzhen Nova Audio Co., Ltd.", "USCC 91440300MA5H8J1K6D",
                     "91440300MA5H8J1K6D", "liu.yang@nova-audio.example",
                     # Same phone as seller 10: a closed seller coming back under a new name.
                     "+86 20 5550 8812", "Unit 402, Tower 2, Kexing Science Park",
                     "Nanshan District", "Shenzhen", "Guangdong", "518057", "CN",
                     (("AUR-EB20", "us"), ("AUR-EB20", "uk"))),
    "18": SellerSpec("Felix Hoffmann", "Hoffmann Sport GmbH", "HRB 77120 (AG Stuttgart)",
                     "DE287712044", "felix@hoffmann-sport.example", "+49 711 5550 3390",
                     "Königstraße 28", "", "Stuttgart", "Baden-Württemberg", "70173", "DE",
                     (("KES-TRB", "de"), ("KES-ALP", "de"))),
    "19": SellerSpec("Léa Dubois", "Dubois Pharma Distribution SAS", "RCS Bordeaux 812 334 561",
                     "FR51812334561", "lea@dubois-pharma.example", "+33 5 55 50 31 08",
                     "45 cours de l'Intendance", "", "Bordeaux", "Nouvelle-Aquitaine", "33000",
                     "FR", (("MED-IBU400", "fr"),)),
    "20": SellerSpec("Grace Kim", "Kim Outdoor Co.", "WA 604-882-113", "EIN 91-2088314",
                     "grace@kim-outdoor.example", "+1 206 555 0155", "1500 Fourth Avenue", "",
                     "Seattle", "WA", "98101", "US", (("KES-ALP", "us"), ("VOL-PB20K", "us"))),
}  # fmt: skip


@dataclass(frozen=True)
class EvidenceSpec:
    kind: str
    description: str
    filename: str
    fmt: str  # "png" (photo / screenshot) or "txt" (receipt, lab report)


@dataclass(frozen=True)
class ReportSpec:
    reporter: str  # username
    reason: str
    explanation: str
    evidence: tuple[EvidenceSpec, ...]


@dataclass(frozen=True)
class Scenario:
    """One demo case: who reported it, and how far through the lifecycle the services take it."""

    label: str
    seller: str
    brand: str
    reports: tuple[ReportSpec, ...]
    steps: tuple[str, ...] = ()
    notes: dict = field(default_factory=dict)
    # When the first report came in, in days before the seed runs; or, for a case left in its
    # appeal window, in how many days from now that window ends (the closure is placed so).
    days_ago: float = 1
    deadline_in: float | None = None


PHOTO = EvidenceSpec(
    EvidenceKind.PHOTO, "Photo of the test-buy unit next to a genuine one", "photo.png", "png"
)
SCREENSHOT = EvidenceSpec(
    EvidenceKind.SCREENSHOT, "Screenshot of the listing as offered", "listing.png", "png"
)
TEST_BUY = EvidenceSpec(
    EvidenceKind.TEST_BUY, "Test-buy order receipt and delivery record", "receipt.txt", "txt"
)
LAB = EvidenceSpec(
    EvidenceKind.LAB_REPORT, "Laboratory analysis of the test-buy unit", "lab-report.txt", "txt"
)

COUNTERFEIT = ReportReason.COUNTERFEIT

SCENARIOS = [
    Scenario("open, ready to confirm", "01", "Aurelia Audio", (
        ReportSpec("brand", COUNTERFEIT,
                   "Test buy of the Pro headphones: no serial number, wrong charging case, "
                   "packaging print does not match the genuine item.", (PHOTO, TEST_BUY)),
    ), days_ago=4),
    Scenario("open, reported by two brand owners", "03", "Aurelia Audio", (
        ReportSpec("brand", COUNTERFEIT,
                   "Air earbuds offered at a third of the retail price; the test-buy unit has a "
                   "cloned firmware and a forged hologram.", (PHOTO,)),
        ReportSpec("aurelia-legal", ReportReason.TRADEMARK_MISUSE,
                   "The listing photos are our copyrighted press images and the listing uses the "
                   "Aurelia word mark for unbranded goods.", (SCREENSHOT, TEST_BUY)),
    ), days_ago=9),
    Scenario("open, brand not yet verified", "02", "Kestrel Outdoor", (
        ReportSpec("kestrel-ip", COUNTERFEIT,
                   "Alpine shell jackets without the membrane: the lab found no waterproof "
                   "laminate at all.", (LAB, PHOTO)),
    ), days_ago=2),
    Scenario("dismissed", "04", "Kestrel Outdoor", (
        ReportSpec("kestrel-ip", ReportReason.UNAUTHORISED_SELLER,
                   "This seller is not one of our authorised UK retailers.", (SCREENSHOT,)),
    ), ("dismiss",), days_ago=38),
    Scenario("confirmed (closure queued for the worker)", "05", "Aurelia Audio", (
        ReportSpec("brand", COUNTERFEIT,
                   "Pro headphones shipped from Shenzhen to US customers; test buy is a "
                   "counterfeit with a fake serial.", (PHOTO, TEST_BUY)),
    ), ("confirm",), days_ago=4),
    Scenario("account closed, appeal window open", "06", "Aurelia Audio", (
        ReportSpec("aurelia-legal", COUNTERFEIT,
                   "Earbuds sold on the US and UK sites are counterfeits (test buy attached).",
                   (TEST_BUY, PHOTO)),
    ), ("confirm", "close"), deadline_in=2),
    Scenario("appeal awaiting review", "07", "Kestrel Outdoor", (
        ReportSpec("kestrel-ip", COUNTERFEIT,
                   "Fake Alpine jackets sold in France and Germany; the lab report shows the "
                   "seams are not taped.", (LAB, PHOTO)),
    ), ("confirm", "close", "appeal"), days_ago=20),
    Scenario("reinstated after a granted appeal", "08", "Aurelia Audio", (
        ReportSpec("brand", COUNTERFEIT,
                   "Headphones suspected fake from listing photos.", (SCREENSHOT, TEST_BUY)),
    ), ("confirm", "close", "appeal", "grant"), days_ago=45),
    Scenario("referral pending after a denied appeal", "09", "Kestrel Outdoor", (
        ReportSpec("kestrel-ip", COUNTERFEIT,
                   "Trail boots with a counterfeit sole unit; test buy and lab report attached.",
                   (TEST_BUY, LAB)),
    ), ("confirm", "close", "appeal", "deny"), days_ago=17),
    Scenario("referred after the appeal window ran out", "10", "Aurelia Audio", (
        ReportSpec("brand", COUNTERFEIT,
                   "Counterfeit Air earbuds sold on the US and German sites.", (PHOTO, TEST_BUY)),
        ReportSpec("aurelia-legal", COUNTERFEIT,
                   "Second test buy from this seller confirms the first.", (LAB,)),
    ), ("confirm", "close", "expire", "acknowledge"), days_ago=52),
    Scenario("referred at once: fake charger (safety risk)", "11", "Voltique", (
        ReportSpec("voltique-ip", COUNTERFEIT,
                   "Counterfeit 65W chargers without the mains isolation barrier: electric "
                   "shock and fire risk (lab report attached).", (LAB, PHOTO)),
        ReportSpec("brand", COUNTERFEIT,
                   "Our own test buy on the French site: same fake charger.", (TEST_BUY,)),
    ), ("confirm", "close"), days_ago=26),
    Scenario("referred at once: fake medicine (safety risk)", "12", "Medora Pharma", (
        ReportSpec("medora-ip", COUNTERFEIT,
                   "Tablets sold as Medora Ibuprofen contain no ibuprofen (lab assay attached).",
                   (LAB, PHOTO, TEST_BUY)),
    ), ("confirm", "close"), days_ago=33),
    Scenario("referred after a denied appeal", "13", "Kestrel Outdoor", (
        ReportSpec("kestrel-ip", COUNTERFEIT,
                   "Fake Alpine jackets sold on the French site.", (PHOTO, TEST_BUY)),
    ), ("confirm", "close", "appeal", "deny", "refer"), days_ago=41),
    Scenario("reinstated after referral: late appeal granted, referrals retracted", "14",
             "Aurelia Audio", (
        ReportSpec("brand", COUNTERFEIT,
                   "Headphones on the German site suspected counterfeit.", (SCREENSHOT, TEST_BUY)),
    ), ("confirm", "close", "expire", "late_appeal", "grant"), days_ago=56),
    Scenario("account closed, appeal window ends in a few days", "18", "Kestrel Outdoor", (
        ReportSpec("kestrel-ip", COUNTERFEIT,
                   "Trail boots and Alpine jackets priced like the genuine ones but with fake "
                   "Gore labels; lab report attached.", (LAB, PHOTO)),
    ), ("confirm", "close"), deadline_in=4),
    Scenario("account closed, appeal window ends within the week", "20", "Kestrel Outdoor", (
        ReportSpec("kestrel-ip", COUNTERFEIT,
                   "Alpine jackets sold on the US site as genuine: the test-buy unit has no "
                   "taped seams.", (TEST_BUY, PHOTO)),
    ), ("confirm", "close"), deadline_in=6),
]  # fmt: skip

# Reports still waiting for triage (no case yet). Seller 17 gets one more from ring detection:
# it shares a phone number with seller 10, whose account the demo closes.
UNTRIAGED = [
    ("15", "VOL-PB20K", "Voltique", ReportSpec("voltique-ip", COUNTERFEIT,
        "Power banks with a fake capacity label (sold as 20000 mAh, measured 6200 mAh).",
        (TEST_BUY,))),
    ("15", "VOL-PB20K", "Voltique", ReportSpec("brand", COUNTERFEIT,
        "Customer complaints about swollen batteries from this seller.", (SCREENSHOT,))),
]  # fmt: skip

APPEAL_STATEMENTS = {
    "appeal": "The jackets are genuine surplus stock bought from a Kestrel distributor; "
    "I can provide the invoices.",
    "late_appeal": "I was in hospital when the account was closed. The headphones came from an "
    "authorised Aurelia distributor in Düsseldorf; invoices and the distributor's letter attached.",
}
DECISIONS = {
    ("08", "grant"): "The seller produced invoices from an authorised Aurelia distributor; the "
    "brand withdrew the report.",
    ("09", "deny"): "The invoices submitted do not match the batch codes on the test-buy units.",
    ("13", "deny"): "No proof of purchase from an authorised source was provided.",
    ("14", "grant"): "The distributor confirmed the sale in writing; the goods are genuine.",
}


# --- the demo's past ------------------------------------------------------------------------

# How long after the step before it each step happens. "expire" is the deadline sweep's: it
# runs just after the appeal window (APPEAL_WINDOW) of the closure has ended.
STEP_AFTER = {
    "dismiss": timedelta(days=3, hours=2),
    "confirm": timedelta(days=2, hours=5),
    "close": timedelta(minutes=3),  # the worker's close_account task, right after confirm
    "appeal": timedelta(days=6, hours=4),
    "grant": timedelta(days=3, hours=1),
    "deny": timedelta(days=3, hours=1),
    "refer": timedelta(minutes=2),  # the referral task, right after the denial
    "late_appeal": timedelta(days=9),
    "acknowledge": timedelta(days=1, hours=3),
}
SWEEP_AFTER_DEADLINE = timedelta(hours=1)
REPORT_APART = timedelta(hours=26)  # a second report on the same seller comes a day later
OPEN_AFTER = timedelta(hours=20)  # triage: the case is opened the day after the last report
LATEST = timedelta(minutes=30)  # the newest step of a scenario is at least this old


@dataclass(frozen=True)
class Schedule:
    """When a scenario's reports were filed, its case opened and each of its steps done."""

    reports: list[datetime]
    opened: datetime
    steps: list[datetime]


def schedule(scenario: Scenario, *, now: datetime, window: timedelta) -> Schedule:
    """The scenario's times, going forward and all before ``now``.

    A case left in its appeal window is placed so that the window ends ``deadline_in`` days
    from now; any other starts ``days_ago``. A schedule that would end after ``now`` (an
    ``APPEAL_WINDOW`` longer than the story) moves back as a whole, keeping its order.
    """
    if scenario.deadline_in is not None:
        steps_to_close = scenario.steps[: scenario.steps.index("close") + 1]
        lead = (
            REPORT_APART * (len(scenario.reports) - 1)
            + OPEN_AFTER
            + sum((STEP_AFTER[step] for step in steps_to_close), timedelta())
        )
        start = now - window + timedelta(days=scenario.deadline_in) - lead
    else:
        start = now - timedelta(days=scenario.days_ago)
    reports = [start + REPORT_APART * i for i in range(len(scenario.reports))]
    at = opened = reports[-1] + OPEN_AFTER
    closed = at
    steps = []
    for step in scenario.steps:
        if step == "expire":
            at = max(at, closed + window + SWEEP_AFTER_DEADLINE)
        else:
            at = at + STEP_AFTER[step]
        if step == "close":
            closed = at
        steps.append(at)
    overflow = max([opened, *steps]) - (now - LATEST)
    if overflow > timedelta(0):
        reports = [moment - overflow for moment in reports]
        opened -= overflow
        steps = [moment - overflow for moment in steps]
    return Schedule(reports=reports, opened=opened, steps=steps)


class PastClock:
    """Replays the demo's past through the real services.

    While installed, ``django.utils.timezone.now`` (read by the services, the audit chain and
    every ``auto_now`` field) and every model field whose default is ``timezone.now`` answer
    the moment set with :meth:`at`, or the real time when none is set. Backdating has to happen
    as the rows are made: a CaseEvent's ``at`` is part of its SHA-256, so an event moved
    afterwards would break its case's chain.

    The outbox is left on the real time: it is delivery plumbing, not history, and a message
    owed "eight weeks ago" would read as a stuck queue.
    """

    def __init__(self) -> None:
        self.moment: datetime | None = None
        self._real_now = timezone.now

    def at(self, moment: datetime | None) -> None:
        """Stand at ``moment`` from now on; None: follow the real time again."""
        self.moment = moment

    def now(self) -> datetime:
        return self.moment if self.moment is not None else self._real_now()

    @contextmanager
    def installed(self) -> Iterator["PastClock"]:
        real_now = self._real_now = timezone.now
        defaults = [
            model_field
            for model in apps.get_models()
            for model_field in model._meta.fields
            if model_field.default is real_now and model._meta.app_label != "outbox"
        ]

        def use(now: object) -> None:
            timezone.now = now
            for model_field in defaults:
                model_field.default = now
                model_field.__dict__.pop("_get_default", None)  # Field caches its default getter

        use(self.now)
        try:
            yield self
        finally:
            use(real_now)
            self.moment = None


# --- small helpers ---------------------------------------------------------------------------


def gtin13(body: str) -> str:
    """Append the GS1 check digit to a 12-digit body."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def tiny_png(label: str, width: int = 48, height: int = 32) -> bytes:
    """A small, valid RGB PNG (genuine colour on the left, the fake's on the right)."""
    rng = random.Random(label)
    genuine = bytes(rng.randrange(256) for _ in range(3))
    fake = bytes(rng.randrange(256) for _ in range(3))
    row = b"\x00" + genuine * (width // 2) + fake * (width - width // 2)
    raw = row * height

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def evidence_text(spec: EvidenceSpec, *, seller: Seller, brand: str, reporter: str) -> bytes:
    if spec.kind == EvidenceKind.LAB_REPORT:
        body = (
            f"LABORATORY REPORT\nClient: {brand} brand protection ({reporter})\n"
            f"Sample: test-buy unit from seller {seller.external_id} ({seller.display_name})\n"
            "Method: visual inspection, X-ray, material analysis against a genuine reference\n"
            "Findings: markings, materials and internal construction differ from the genuine "
            "product; the sample is not manufactured by or for the trademark owner.\n"
            "Conclusion: COUNTERFEIT\n"
        )
    else:
        body = (
            f"TEST-BUY RECEIPT\nBuyer: {brand} brand protection ({reporter})\n"
            f"Seller: {seller.external_id} ({seller.display_name}, {seller.country})\n"
            "Order delivered and photographed on receipt; unit retained as evidence.\n"
        )
    return body.encode("utf-8")


@dataclass
class Tally:
    created: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, created: bool | int) -> None:
        if created:
            self.created[what] = self.created.get(what, 0) + int(created)


class Command(BaseCommand):
    help = (
        "Fill the database with a realistic demo: 4 brands with USPTO/EUIPO trademarks, the "
        "us/de/fr/uk marketplaces, 20 sellers (US, DE, FR, CN, GB) with listings and sales, "
        "brand reports with evidence files, the authorities US-IPRC and EU-IPC3, and cases in "
        "every state (open, dismissed, confirmed, account_closed, appeal_review, reinstated, "
        "referral_pending, referred) driven through the real services, so every timeline is a "
        "valid hash chain and every referral a signed packet. Users: analyst, reviewer, brand "
        "(member of two brands), several brand-owner users and an admin superuser; the "
        "password is $DEMO_PASSWORD, or 'touchstone-demo' when unset, and is printed. "
        "Idempotent: running it again changes nothing. Side-effect tasks (closure, notices, "
        "deliveries) go to the Celery broker for the worker; if the broker cannot be reached, "
        "tasks queued straight to Celery run in this process and outbox messages wait for the "
        "relay. confirmed and referral_pending are passing states: a running worker "
        "closes that account and builds those referrals within moments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=None,
            help="Password for users this run creates (default: $DEMO_PASSWORD or "
            f"'{DEFAULT_PASSWORD}'). Existing users keep their password.",
        )

    def handle(self, *args: object, **options: object) -> None:
        password = options["password"] or os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
        self.tally = Tally()
        self.rng = random.Random(2026)
        with self._side_effects():
            with transaction.atomic():
                authorities = referral_services.ensure_default_authorities()
                users = self._users(password)
                brands = self._brands(users)
                marketplaces = self._marketplaces()
                products = self._products(brands)
                sellers = self._sellers()
                listings = self._listings(sellers, products, marketplaces)
                self._sales(listings)
            made = 0
            now = timezone.now()
            with PastClock().installed() as clock:
                with transaction.atomic():
                    self._untriaged_reports(sellers, brands, listings, users, clock=clock, now=now)
                    clock.at(None)  # on-commit publishing (and eager tasks) run at the real time
                for scenario in SCENARIOS:
                    # One transaction per case: a crash leaves no half-built scenario behind,
                    # and the services' on-commit tasks are queued when the scenario is done.
                    with transaction.atomic():
                        made += self._scenario(
                            scenario, sellers, brands, listings, users, clock=clock, now=now
                        )
                        clock.at(None)
            with transaction.atomic():
                # Repeat-offender alerts, as after any closure: seller 17 is linked to seller 10.
                before = RingAlert.objects.count()
                refresh_identifiers([seller.pk for seller in sellers.values()], alert=True)
                self.tally.add("ring alerts", RingAlert.objects.count() - before)
        self._summary(users, authorities, password, made)

    # --- side effects ------------------------------------------------------------------------

    @contextmanager
    def _side_effects(self) -> Iterator[None]:
        """Queue tasks to the broker when it answers; otherwise do without it.

        The seed must work before any broker or worker is up (first ``make run``, a laptop).
        Without a broker, tasks queued straight to Celery run here, as a worker would run
        them, and outbox messages go to an in-process transport that nobody consumes: they stay
        owed (not done), so the relay publishes them again once their lease runs out and the
        broker and beat are up. No publish waits on a broker that is not there.
        """
        self.broker_ok = self._broker_reachable()
        if self.broker_ok:
            yield
            return
        self.stderr.write(
            self.style.WARNING(
                "Celery broker unreachable: tasks run in this process; outbox messages wait "
                "for the relay."
            )
        )
        conf = celery_app.conf
        saved = conf.task_always_eager, conf.broker_write_url
        # broker_write_url, not broker_url: CELERY_BROKER_URL in the environment wins over it.
        conf.task_always_eager, conf.broker_write_url = True, "memory://"
        try:
            yield
        finally:
            conf.task_always_eager, conf.broker_write_url = saved

    def _broker_reachable(self) -> bool:
        if celery_app.conf.task_always_eager:
            return True
        try:
            with celery_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=3)
        except (BrokerError, OSError):
            return False
        return True

    # --- reference data -------------------------------------------------------------------

    def _users(self, password: str) -> dict[str, AbstractBaseUser]:
        user_model = get_user_model()
        groups = {}
        for name in (ANALYST, REVIEWER, BRAND_OWNER):
            groups[name], created = Group.objects.get_or_create(name=name)
            self.tally.add("groups", created)
        users = {}
        self.password_kept: list[str] = []
        for username, (first, last, group_names, _brands, superuser) in USERS.items():
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@touchstone.example",
                    "is_staff": superuser,
                    "is_superuser": superuser,
                },
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            elif not user.check_password(password):
                self.password_kept.append(username)
            self.tally.add("users", created)
            for name in group_names:
                if not user.groups.filter(pk=groups[name].pk).exists():
                    user.groups.add(groups[name])
            users[username] = user
        return users

    def _brands(self, users: dict[str, AbstractBaseUser]) -> dict[str, Brand]:
        brands = {}
        for name, spec in BRANDS.items():
            brand, created = Brand.objects.get_or_create(
                name=name,
                defaults={
                    "verified": spec["verified"],
                    "verified_at": timezone.now() if spec["verified"] else None,
                    "verified_by": users["analyst"] if spec["verified"] else None,
                },
            )
            self.tally.add("brands", created)
            for office, number, classes in spec["trademarks"]:
                _, created = Trademark.objects.get_or_create(
                    office=office, number=number, defaults={"brand": brand, "classes": classes}
                )
                self.tally.add("trademarks", created)
            brands[name] = brand
        for username, (_f, _l, _g, memberships, _s) in USERS.items():
            for brand_name, role in memberships.items():
                _, created = BrandMembership.objects.get_or_create(
                    brand=brands[brand_name], user=users[username], defaults={"role": role}
                )
                self.tally.add("brand memberships", created)
        return brands

    def _marketplaces(self) -> dict[str, Marketplace]:
        result = {}
        for code, name, country in MARKETPLACES:
            result[code], created = Marketplace.objects.get_or_create(
                code=code, defaults={"name": name, "country": country}
            )
            self.tally.add("marketplaces", created)
        return result

    def _products(self, brands: dict[str, Brand]) -> dict[str, Product]:
        result = {}
        for key, (brand, title, gtin_body, safety, _price) in PRODUCTS.items():
            result[key], created = Product.objects.get_or_create(
                external_id=f"{MARKER}{key}",
                defaults={
                    "brand": brands[brand],
                    "title": title,
                    "gtin": gtin13(gtin_body),
                    "safety_risk": safety,
                },
            )
            self.tally.add("products", created)
        return result

    def _sellers(self) -> dict[str, Seller]:
        result = {}
        for key, spec in SELLERS.items():
            seller, created = Seller.objects.get_or_create(
                external_id=f"{MARKER}seller-{key}",
                defaults={
                    "name": spec.name,
                    "company_name": spec.company,
                    "company_registration": spec.registration,
                    "tax_id": spec.tax_id,
                    "email": spec.email,
                    "phone": spec.phone,
                    "address_line1": spec.line1,
                    "address_line2": spec.line2,
                    "city": spec.city,
                    "region": spec.region,
                    "postal_code": spec.postal_code,
                    "country": spec.country,
                },
            )
            self.tally.add("sellers", created)
            result[key] = seller
        # The same derivation as the catalog import and the admin: normalised identifiers and
        # linked-seller groups. Alerts come at the end, once some sellers are closed.
        refresh_identifiers([seller.pk for seller in result.values()], alert=False)
        return result

    def _listings(
        self,
        sellers: dict[str, Seller],
        products: dict[str, Product],
        marketplaces: dict[str, Marketplace],
    ) -> dict[tuple[str, str, str], Listing]:
        result = {}
        for key, spec in SELLERS.items():
            for product_key, market in spec.listings:
                product = products[product_key]
                retail = Decimal(PRODUCTS[product_key][4])
                # Fakes undercut the genuine price; sellers 15+ sell near retail (18 and 20
                # sell fakes priced as the genuine article).
                factor = Decimal("0.92") if int(key) >= 15 else Decimal("0.38")
                external_id = f"{MARKER}L-{key}-{product_key}-{market}"
                listing, created = Listing.objects.get_or_create(
                    external_id=external_id,
                    defaults={
                        "seller": sellers[key],
                        "product": product,
                        "marketplace": marketplaces[market],
                        "title": f"{product.title} - NEW, fast shipping",
                        "url": f"https://{market}.marketplace.example/item/{external_id}",
                        "price": (retail * factor).quantize(Decimal("0.01")),
                        "currency": CURRENCY[market],
                    },
                )
                self.tally.add("listings", created)
                result[(key, product_key, market)] = listing
        return result

    def _sales(self, listings: dict[tuple[str, str, str], Listing]) -> None:
        now = timezone.now()
        for (_seller, _product, market), listing in listings.items():
            for n in range(1, 4):
                # Drawn whether or not the row exists, so a re-run draws the same values.
                units = self.rng.randint(1, 12)
                country = self.rng.choice(CUSTOMER_COUNTRIES[market])
                # Sold before the brand's reports (the oldest is eight weeks old).
                days = self.rng.randint(60, 180)
                _, created = Sale.objects.get_or_create(
                    external_id=f"{listing.external_id}-O{n}",
                    defaults={
                        "listing": listing,
                        "units": units,
                        "customer_country": country,
                        "sold_at": now - timedelta(days=days, hours=n),
                    },
                )
                self.tally.add("sales", created)

    # --- reports and evidence ---------------------------------------------------------------

    def _report(
        self,
        spec: ReportSpec,
        *,
        seller: Seller,
        brand: Brand,
        listings: list[Listing],
        users: dict[str, AbstractBaseUser],
    ) -> Report:
        """Find the demo report, or file it through the same service as the brand portal."""
        reporter = users[spec.reporter]
        existing = Report.objects.filter(
            brand=brand, seller=seller, reporter=reporter, explanation=spec.explanation
        ).first()
        if existing is not None:
            return existing
        uploads = [
            EvidenceUpload(
                file=SimpleUploadedFile(
                    evidence.filename,
                    self._evidence_bytes(evidence, seller=seller, brand=brand, reporter=reporter),
                ),
                kind=evidence.kind,
                description=evidence.description,
            )
            for evidence in spec.evidence
        ]
        report = case_services.file_report(
            brand=brand,
            reporter=reporter,
            reason=spec.reason,
            explanation=spec.explanation,
            notifier_name=reporter.get_full_name(),
            notifier_email=reporter.email,
            good_faith=True,
            seller=seller,
            listing_ids=[listing.pk for listing in listings],
            evidence=uploads,
        )
        self.tally.add("reports", True)
        self.tally.add("evidence files", len(uploads))
        return report

    def _evidence_bytes(
        self, spec: EvidenceSpec, *, seller: Seller, brand: Brand, reporter: AbstractBaseUser
    ) -> bytes:
        if spec.fmt == "png":
            return tiny_png(
                f"{brand.name}|{seller.external_id}|{reporter.get_username()}|{spec.kind}"
            )
        return evidence_text(
            spec, seller=seller, brand=brand.name, reporter=reporter.get_username()
        )

    def _untriaged_reports(
        self,
        sellers: dict[str, Seller],
        brands: dict[str, Brand],
        listings: dict[tuple[str, str, str], Listing],
        users: dict[str, AbstractBaseUser],
        *,
        clock: PastClock,
        now: datetime,
    ) -> None:
        for n, (seller_key, product_key, brand_name, spec) in enumerate(UNTRIAGED):
            # Filed over the last day or two: they wait in the queue.
            clock.at(now - timedelta(hours=30) + timedelta(hours=20) * n)
            seller = sellers[seller_key]
            matching = [
                listing
                for (key, product, _m), listing in listings.items()
                if key == seller_key and product == product_key
            ]
            self._report(
                spec, seller=seller, brand=brands[brand_name], listings=matching, users=users
            )

    # --- cases --------------------------------------------------------------------------------

    def _scenario(
        self,
        scenario: Scenario,
        sellers: dict[str, Seller],
        brands: dict[str, Brand],
        listings: dict[tuple[str, str, str], Listing],
        users: dict[str, AbstractBaseUser],
        *,
        clock: PastClock,
        now: datetime,
    ) -> int:
        seller = sellers[scenario.seller]
        brand = brands[scenario.brand]
        if Case.objects.filter(seller=seller, brand=brand).exists():
            return 0
        times = schedule(scenario, now=now, window=settings.APPEAL_WINDOW)
        brand_listings = [
            listing
            for (key, product, _m), listing in listings.items()
            if key == scenario.seller and PRODUCTS[product][0] == scenario.brand
        ]
        reports = []
        for spec, filed_at in zip(scenario.reports, times.reports, strict=True):
            clock.at(filed_at)
            reports.append(
                self._report(spec, seller=seller, brand=brand, listings=brand_listings, users=users)
            )
        analyst, reviewer = users["analyst"], users["reviewer"]
        clock.at(times.opened)
        case = case_services.open_case(
            report_ids=[r.pk for r in reports],
            actor=analyst,
            reason=f"opened from {len(reports)} brand report(s)",
        )
        case_services.assign_case(case.pk, assignee=analyst)
        appeal = None
        for step, done_at in zip(scenario.steps, times.steps, strict=True):
            clock.at(done_at)
            appeal = self._step(step, case.pk, scenario, analyst, reviewer, appeal)
        return 1

    def _step(
        self,
        step: str,
        case_id: int,
        scenario: Scenario,
        analyst: AbstractBaseUser,
        reviewer: AbstractBaseUser,
        appeal: Appeal | None,
    ) -> Appeal | None:
        if step == "dismiss":
            case_services.dismiss_case(
                case_id,
                actor=analyst,
                reason="Genuine goods bought from an authorised distributor; resale is lawful "
                "(exhaustion of rights).",
            )
        elif step == "confirm":
            case_services.confirm_case(
                case_id,
                actor=analyst,
                reason="Test buy and evidence show counterfeit goods sold to customers.",
            )
        elif step == "close":
            # The service the close_account task runs, called here so the demo is complete
            # without a worker; the queued task then finds the work done and does nothing.
            case_services.close_account(case_id)
        elif step in ("appeal", "late_appeal"):
            appeal = appeal_services.file_appeal(case_id, statement=APPEAL_STATEMENTS[step])
        elif step in ("grant", "deny"):
            outcome = AppealOutcome.GRANTED if step == "grant" else AppealOutcome.DENIED
            appeal = appeal_services.decide_appeal(
                appeal.pk,
                outcome=outcome,
                actor=reviewer,
                reason=DECISIONS[(scenario.seller, step)],
            )
        elif step == "expire":
            # The clock stands just past the appeal deadline: the sweep's own service refers.
            if case_services.expire_appeal_window(case_id) is None:
                raise ValueError(f"case {case_id}: the appeal window has not ended")
        elif step == "refer":
            case_services.refer_case(case_id)
        elif step == "acknowledge":
            referral = Referral.objects.filter(case_id=case_id).order_by("id").first()
            if referral is not None:
                referral_services.acknowledge_referral(
                    referral.pk, authority_reference=f"{referral.authority.code}-2026-{case_id:05d}"
                )
        else:
            raise ValueError(f"unknown demo step {step!r}")
        return appeal

    # --- summary --------------------------------------------------------------------------------

    def _summary(
        self,
        users: dict[str, AbstractBaseUser],
        authorities: list[Authority],
        password: str,
        made: int,
    ) -> None:
        out = self.stdout.write
        if self.tally.created:
            created = ", ".join(f"{n} {what}" for what, n in self.tally.created.items())
            out(self.style.SUCCESS(f"Demo data created: {created}."))
        else:
            out(self.style.SUCCESS("Demo data already present: nothing changed."))
        out(f"Cases made by this run: {made}.")
        counts = dict(Case.objects.values_list("state").annotate(n=Count("id")))
        out("Cases by state:")
        for state in CaseState:
            out(f"  {state.value:<17} {counts.get(state.value, 0)}")
        referrals = dict(Referral.objects.values_list("status").annotate(n=Count("id")))
        out(
            "Referrals: "
            + (", ".join(f"{n} {status}" for status, n in sorted(referrals.items())) or "none")
        )
        out("Authorities: " + ", ".join(f"{a.code} ({a.name})" for a in authorities))
        out("Users (password below): " + ", ".join(users))
        out(f"Password: {password}")
        if self.password_kept:
            out(
                self.style.WARNING(
                    "These users existed with another password, left unchanged: "
                    + ", ".join(self.password_kept)
                )
            )
        site = settings.SITE_URL.rstrip("/")
        out(f"Sign in:   {site}/accounts/login/")
        out(f"Admin:     {site}/admin/")
        out(f"API docs:  {site}/api/v1/docs/")
        if not self.broker_ok:
            out(
                self.style.WARNING(
                    "The broker was unreachable: queued work waits in the outbox; the relay "
                    "(Celery beat) publishes it once the broker is up."
                )
            )
        if counts.get(CaseState.CONFIRMED) or counts.get(CaseState.REFERRAL_PENDING):
            out(
                "Note: confirmed and referral_pending are passing states: the Celery worker "
                "closes the account / builds the referrals within moments."
            )
