"""The referral packet as a PDF a person can read, print and file (reportlab).

Made from the frozen packet (the signed bytes), never from live rows: the PDF says what the
signature covers. Every page carries the packet's SHA-256 and key id in its footer, so a single
printed page can be tied back to the signed packet. Free text is escaped: reportlab's Paragraph
parses a markup language, and seller-supplied text must not be able to inject into it.
"""

import io
import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import reportlab
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from .models import Referral

# A Unicode TrueType font so names in any Latin, Greek or Cyrillic script print, not as boxes:
# DejaVu where the system has it, else Bitstream Vera, which ships inside reportlab.
_FONT_CANDIDATES = [
    (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
    ),
    (
        Path(reportlab.__file__).parent / "fonts" / "Vera.ttf",
        Path(reportlab.__file__).parent / "fonts" / "VeraBd.ttf",
        Path(reportlab.__file__).parent / "fonts" / "Vera.ttf",
    ),
]


@lru_cache(maxsize=1)
def _fonts() -> tuple[str, str, str]:
    for regular, bold, mono in _FONT_CANDIDATES:
        if regular.exists() and bold.exists() and mono.exists():
            pdfmetrics.registerFont(TTFont("TS-Regular", str(regular)))
            pdfmetrics.registerFont(TTFont("TS-Bold", str(bold)))
            pdfmetrics.registerFont(TTFont("TS-Mono", str(mono)))
            return "TS-Regular", "TS-Bold", "TS-Mono"
    return "Helvetica", "Helvetica-Bold", "Courier"


# Characters the TrueType font has no glyph for (Chinese, Japanese, Korean, ...) would print as
# nothing, and be gone from the PDF's text too. They go in one of reportlab's built-in CID fonts
# instead: these encode the text as Unicode (UCS-2), so it stays in the PDF's text even where a
# viewer lacks the glyphs. Hangul is not in the Chinese character collection, hence two.
_CJK_FONT = "STSong-Light"
_HANGUL_FONT = "HYSMyeongJo-Medium"
_HANGUL_RANGES = ((0x1100, 0x11FF), (0x3130, 0x318F), (0xA960, 0xA97F), (0xAC00, 0xD7FF))


@lru_cache(maxsize=1)
def _covered() -> frozenset[int]:
    """The code points the body font can draw (empty when it is a standard Type 1 font)."""
    regular = _fonts()[0]
    font = pdfmetrics.getFont(regular)
    pdfmetrics.registerFont(UnicodeCIDFont(_CJK_FONT))
    pdfmetrics.registerFont(UnicodeCIDFont(_HANGUL_FONT))
    face = getattr(font, "face", None)
    return frozenset(getattr(face, "charToGlyph", {}))


def _fallback_font(char: str) -> str | None:
    """The font to print a character the body font lacks; None when it is outside UCS-2."""
    code = ord(char)
    if code > 0xFFFF:
        return None
    if any(low <= code <= high for low, high in _HANGUL_RANGES):
        return _HANGUL_FONT
    return _CJK_FONT


def _markup(text: str) -> str:
    """Plain text as Paragraph markup: escaped, with runs the body font cannot draw put in a
    font that can, and a character none can (an emoji) named by its code point."""
    covered = _covered()
    if not covered:
        return escape(text)
    out: list[str] = []
    run_font: str | None = None
    run: list[str] = []

    def flush() -> None:
        if run:
            chunk = escape("".join(run))
            out.append(f'<font name="{run_font}">{chunk}</font>' if run_font else chunk)
            run.clear()

    for char in text:
        if ord(char) in covered or char.isspace():
            font = None
        else:
            font = _fallback_font(char)
            if font is None:
                flush()
                run_font = None
                out.append(f"[U+{ord(char):04X}]")
                continue
        if font != run_font:
            flush()
            run_font = font
        run.append(char)
    flush()
    return "".join(out)


def _styles() -> dict[str, ParagraphStyle]:
    regular, bold, mono = _fonts()
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("t", parent=base["Title"], fontName=bold, fontSize=16),
        "h2": ParagraphStyle(
            "h2", parent=base["Heading2"], fontName=bold, fontSize=12, spaceBefore=8
        ),
        "body": ParagraphStyle(
            "b", parent=base["BodyText"], fontName=regular, fontSize=9, leading=12
        ),
        "small": ParagraphStyle("s", fontName=regular, fontSize=8, leading=10, alignment=TA_LEFT),
        "mono": ParagraphStyle("m", fontName=mono, fontSize=7, leading=9, wordWrap="CJK"),
        "cellhead": ParagraphStyle("ch", fontName=bold, fontSize=8, leading=10),
        "retraction": ParagraphStyle(
            "r",
            fontName=bold,
            fontSize=10,
            leading=13,
            textColor=colors.HexColor("#8b0000"),
            borderColor=colors.HexColor("#8b0000"),
            borderWidth=1,
            borderPadding=6,
            backColor=colors.HexColor("#fff0f0"),
        ),
    }


def _text(value: Any) -> str:
    """Free text made safe for Paragraph markup; empty values print as an en dash."""
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    return _markup(str(value)).replace("\n", "<br/>")


def _when(value: Any) -> str | None:
    """An ISO time from the packet as a person reads it: 2025-01-31 14:05:09 UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _kv_table(rows: list[tuple[str, Any]], st: dict[str, ParagraphStyle]) -> Table:
    data = [
        [Paragraph(escape(k), st["cellhead"]), Paragraph(_text(v), st["body"])] for k, v in rows
    ]
    table = Table(data, colWidths=[45 * mm, 125 * mm], splitInRow=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _grid(
    head: list[str],
    rows: list[list[Any]],
    widths: list[float],
    st: dict[str, ParagraphStyle],
    mono_columns: tuple[int, ...] = (),
) -> Table:
    data = [[Paragraph(escape(h), st["cellhead"]) for h in head]]
    for row in rows:
        data.append(
            [
                Paragraph(_text(cell), st["mono"] if i in mono_columns else st["body"])
                for i, cell in enumerate(row)
            ]
        )
    if not rows:
        data.append([Paragraph("None recorded.", st["body"])] + [""] * (len(head) - 1))
    # splitInRow: a row taller than a page (a 2,000-character description, a product sold
    # through a hundred listings) continues on the next page instead of failing the layout.
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1, splitInRow=1)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ]
        )
    )
    return table


def render_packet_pdf(referral: Referral) -> bytes:
    """The PDF of one referral's frozen packet, with its digest and key id on every page."""
    packet = json.loads(referral.packet_json)
    st = _styles()
    regular, _bold, mono = _fonts()
    seller = packet.get("seller", {})
    address = seller.get("address", {})
    authority = packet.get("authority", {})
    brand = packet.get("brand", {})
    appeal = packet.get("appeal", {})

    story: list[Any] = [
        Paragraph(f"Referral #{packet.get('referral_id')} — counterfeit goods", st["title"]),
        Paragraph(
            f"Case {_text(packet.get('case_id'))} · to {_text(authority.get('name'))} "
            f"({_text(authority.get('code'))}, {_text(authority.get('jurisdiction'))}) · "
            f"signed {_text(_when(packet.get('created_at')))}",
            st["body"],
        ),
        Spacer(1, 4 * mm),
    ]
    if referral.retracted_at is not None:
        story += [
            Paragraph(
                f"RETRACTED on {referral.retracted_at:%Y-%m-%d %H:%M} UTC. The marketplace "
                "withdrew this referral: "
                f"{_text(referral.retraction_reason)}. The packet below is kept as it was "
                "signed, for the record only.",
                st["retraction"],
            ),
            Spacer(1, 4 * mm),
        ]
    story += [
        Paragraph("Legal basis of this disclosure", st["h2"]),
        Paragraph(_text(packet.get("legal_basis")), st["body"]),
        Paragraph("Seller", st["h2"]),
        _kv_table(
            [
                ("Name", seller.get("name")),
                ("Company", seller.get("company_name")),
                ("Company registration", seller.get("company_registration")),
                ("Tax id", seller.get("tax_id")),
                ("E-mail", seller.get("email")),
                ("Phone", seller.get("phone")),
                (
                    "Address",
                    "\n".join(
                        part
                        for part in [
                            address.get("line1"),
                            address.get("line2"),
                            " ".join(
                                p for p in [address.get("postal_code"), address.get("city")] if p
                            ),
                            address.get("region"),
                            address.get("country"),
                        ]
                        if part
                    ),
                ),
                ("Account closed", _when(seller.get("account_closed_at"))),
            ],
            st,
        ),
        Paragraph("Brand and trademarks", st["h2"]),
        _kv_table(
            [
                ("Brand", brand.get("name")),
                (
                    "Trademarks",
                    [
                        f"{tm.get('office')} {tm.get('number')}"
                        for tm in brand.get("trademarks", [])
                    ],
                ),
            ],
            st,
        ),
        Paragraph("Products", st["h2"]),
        _grid(
            ["Title", "Brand", "GTIN", "Listings", "Marketplaces", "Units sold"],
            [
                [
                    p.get("title"),
                    p.get("brand"),
                    p.get("gtin"),
                    p.get("listing_ids"),
                    p.get("marketplaces"),
                    p.get("units_sold"),
                ]
                for p in packet.get("products", [])
            ],
            [46, 24, 30, 28, 26, 16],
            st,
        ),
        Paragraph("Evidence", st["h2"]),
        _grid(
            ["Kind", "Description", "Collected", "SHA-256 of the file"],
            [
                [e.get("kind"), e.get("description"), _when(e.get("collected_at")), e.get("sha256")]
                for e in packet.get("evidence", [])
            ],
            [20, 52, 30, 68],
            st,
            mono_columns=(3,),
        ),
        Paragraph("Timeline", st["h2"]),
        _grid(
            ["When (UTC)", "Step", "By (role)"],
            [
                [_when(t.get("at")), t.get("event"), t.get("actor_role")]
                for t in packet.get("timeline", [])
            ],
            [50, 70, 50],
            st,
        ),
        Paragraph("Appeal", st["h2"]),
        _kv_table(
            [
                ("Filed", "yes" if appeal.get("filed") else "no"),
                ("Outcome", appeal.get("outcome")),
                ("Decided", _when(appeal.get("decided_at"))),
            ],
            st,
        ),
        Spacer(1, 6 * mm),
        KeepTogether(
            [
                Paragraph("Integrity", st["h2"]),
                Paragraph(
                    "The SHA-256 below is of the packet's canonical JSON (GET "
                    f"/api/v1/referrals/{referral.pk}/packet.json). The Ed25519 signature over "
                    "that digest verifies with the public key published under the key id at "
                    "/api/v1/signing-keys/.",
                    st["body"],
                ),
                _kv_table(
                    [
                        ("Schema", packet.get("schema")),
                        ("SHA-256", referral.sha256),
                        ("Signature", referral.signature),
                        ("Key id", referral.key_id),
                    ],
                    st,
                ),
            ]
        ),
    ]

    footer = f"Referral #{referral.pk} · SHA-256 {referral.sha256} · key {referral.key_id}"

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(mono, 6.5)
        canvas.setFillColor(colors.HexColor("#333333"))
        canvas.drawString(15 * mm, 10 * mm, footer)
        canvas.setFont(regular, 7)
        label = f"Page {doc.page}"
        if referral.retracted_at is not None:
            label = "RETRACTED · " + label
        canvas.drawRightString(A4[0] - 15 * mm, 14 * mm, label)
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=22 * mm,
        title=f"Referral #{referral.pk}",
        author="Touchstone",
        subject=f"Counterfeit goods referral, case {packet.get('case_id')}",
        invariant=1,
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
