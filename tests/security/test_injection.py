"""Injection and markup: SQL metacharacters in every filter, ``<script>`` in every free text.

Filters are enumerated from each list endpoint's filterset (API) or the page's filter form, so a
new filter is attacked without anyone adding it here. Free text (names, addresses, reports,
evidence descriptions, appeal statements, timeline reasons, product and listing titles) is set
to an attack string, then every page, API answer, e-mail and the PDF packet is rendered.
"""

import io
import re
from html.parser import HTMLParser

import pytest
from django.urls import resolve
from pypdf import PdfReader

from counterfeits.models import Notice
from tests.security.conftest import CANARY, client_for, make_world
from tests.security.matrix import path_for
from tests.security.routes import all_routes

SQL_PAYLOADS = [
    "' OR '1'='1",
    "1' OR 1=1 --",
    '" OR ""="',
    "1; DROP TABLE counterfeits_case; --",
    "1 UNION SELECT username, password FROM auth_user --",
    "'; SELECT pg_sleep(3); --",
    "%' AND 1=1 AND '%'='",
    "\\'\\\\",
    "\x00",
    "99999999999999999999999999",
    "-1",
    "1e309",
    "2025-13-45T25:61:00",
    "[]{}()<>%_*",
    "𝕏" * 300,
]

# Any trace of these in a reply means a database error reached the client.
ERROR_MARKERS = [b"Traceback", b"psycopg", b"syntax error at", b"ProgrammingError", b"DataError"]

# Lists served as pages, with the query parameters their views read besides the filterset.
PAGE_LISTS = {
    "workbench:queue": ["q", "state", "brand", "seller", "assignee", "mine", "due_soon", "sort",
                        "after", "before", "page"],
    "workbench:appeals": ["status", "after", "before", "page"],
    "workbench:referrals": ["status", "authority", "after", "before", "page"],
    "workbench:dashboard": ["brand", "status"],
    "portal:report_list": ["status", "brand", "page"],
    "portal:analyst_brands": ["status", "page", "q"],
    "sellers:network": ["case", "show"],
}  # fmt: skip
COMMON_API_PARAMS = ["page", "page_size", "cursor", "ordering", "search"]


def api_list_routes():
    return [r for r in all_routes() if r.name.endswith("-list") or r.name == "api-seller-network"]


def filters_of(path: str) -> list[str]:
    """The query parameters a DRF list view accepts: its filterset's, and pagination's."""
    view = resolve(path).func
    cls = getattr(view, "cls", None)
    filterset = getattr(cls, "filterset_class", None)
    names = list(filterset.base_filters) if filterset is not None else []
    return names + COMMON_API_PARAMS


def _assert_safe(response, where: str, forbidden: list[str]) -> None:
    assert response.status_code < 500, where
    content = b"".join(response) if response.streaming else response.content
    for marker in ERROR_MARKERS:
        assert marker not in content, f"{where}: {marker!r} in the reply"
    for canary in forbidden:
        assert canary.encode() not in content, f"{where}: leaks {canary}"


@pytest.mark.parametrize("role", ["analyst", "brand_other", "authority_us"])
def test_sql_metacharacters_in_every_filter_of_every_list_neither_fail_nor_leak(world, role):
    # Given every list endpoint and page, and a caller
    client = client_for(world, role)
    forbidden = [] if role == "analyst" else [CANARY["report"], CANARY["appeal"], CANARY["seller"]]
    targets: list[tuple[str, list[str]]] = []
    for route in api_list_routes():
        path = path_for(route, world, role)
        targets.append((path, filters_of(path)))
    pages = {r.name: r for r in all_routes()}
    for name, params in PAGE_LISTS.items():
        targets.append((path_for(pages[name], world, role), params))
    tried = 0

    # When every filter of each gets every SQL metacharacter payload
    for path, params in targets:
        for param in params:
            for payload in SQL_PAYLOADS:
                response = client.get(path, {param: payload})
                tried += 1
                # Then no reply is a 5xx, none shows a database error, none leaks data
                _assert_safe(response, f"{role} GET {path}?{param}={payload[:20]!r}", forbidden)
    assert tried >= 300


XSS = '<script>alert("xss")</script>"><img src=x onerror=alert(1)>'
RAW_MARKUP = [b"<script>alert", b"<img src=x onerror"]
# A <script> that runs: neither loaded from a file (src=) nor a JSON data block (json_script).
INLINE_SCRIPT = re.compile(
    rb"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.IGNORECASE
)


class _Handlers(HTMLParser):
    """Collects event-handler attributes (onclick=...) and javascript: URLs of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=...>")


def inline_handlers(content: bytes) -> list[str]:
    parser = _Handlers()
    parser.feed(content.decode("utf-8", "replace"))
    return parser.found


@pytest.fixture
def xss_world(db, analyst, reviewer):
    return make_world(analyst, reviewer, label=lambda key: f"{XSS} {key}")


@pytest.mark.parametrize("role", ["analyst", "brand_own", "seller"])
def test_script_in_every_free_text_is_escaped_on_every_page(xss_world, role):
    # Given a world whose every free text is an attack string, and a reader of its pages
    world = xss_world
    client = client_for(world, "seller_other" if role == "seller" else role)
    escaped_pages = 0

    # When every route is rendered for that reader (the seller through their own link)
    for route in all_routes():
        path = path_for(route, world, "analyst")
        if role == "seller" and route.name.startswith("appeals:"):
            path = path.replace(path.split("/")[2], world.seller_token)
        response = client.get(path)
        content = b"".join(response) if response.streaming else response.content
        kind = response.get("Content-Type", "")

        # Then no HTML page carries the markup raw, nor any inline script or event handler
        if kind.startswith("text/html"):
            for raw in RAW_MARKUP:
                assert raw not in content, f"{path}: {raw!r} rendered unescaped"
            assert not INLINE_SCRIPT.search(content), f"{path}: inline <script>"
            assert not inline_handlers(content), f"{path}: {inline_handlers(content)}"
            escaped_pages += b"&lt;script&gt;alert" in content
        elif any(raw in content for raw in RAW_MARKUP):
            # and where it is kept verbatim, it is data, never a page
            assert kind.startswith(("application/json", "application/pdf")), (path, kind)
            assert response["X-Content-Type-Options"] == "nosniff"
    # and the attack strings did reach pages (escaped), so the check meant something
    assert escaped_pages >= 1


def test_script_in_free_text_is_printed_literally_in_the_pdf_packet(xss_world):
    # Given a referral whose seller, company, address and brand are attack strings
    client = client_for(xss_world, "authority_us")

    # When the authority downloads the PDF packet
    response = client.get(f"/api/v1/referrals/{xss_world.referral.pk}/packet.pdf")

    # Then it is a PDF whose text shows the markup literally (not interpreted, not dropped)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(b"".join(response) if response.streaming else response.content))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert '<script>alert("xss")</script>' in text.replace("\n", "")


def test_script_in_free_text_is_escaped_in_html_emails(xss_world):
    # Given the notices the world's closures and reports produced
    notices = list(Notice.objects.exclude(html_body=""))

    # Then their HTML parts carry the attack strings escaped only
    assert notices
    for notice in notices:
        for raw in RAW_MARKUP:
            assert raw.decode() not in notice.html_body, (notice.kind, notice.subject)
