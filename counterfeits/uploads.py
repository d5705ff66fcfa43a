"""Evidence uploads: size cap, type decided by content, digest names, safe serving.

An uploaded file is trusted for nothing it says about itself: its type comes from its first bytes
(magic numbers), never from its name or the browser's Content-Type; its stored name is the SHA-256
of its content; its original name is kept only as a sanitised label, never as a path. Files are
served as downloads (images excepted) with ``X-Content-Type-Options: nosniff`` so that a browser
never renders an upload as HTML.
"""

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, Http404, HttpResponse

# Types we accept, by what their content starts with. Everything else is refused.
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
PDF = "application/pdf"
TEXT = "text/plain"
ACCEPTED_TYPES = (PNG, JPEG, GIF, WEBP, PDF, TEXT)
IMAGE_TYPES = frozenset({PNG, JPEG, GIF, WEBP})
EXTENSIONS = {PNG: "png", JPEG: "jpg", GIF: "gif", WEBP: "webp", PDF: "pdf", TEXT: "txt"}
# Files one form may carry, as the API's evidence fields allow: each is read whole to be checked.
MAX_FILES = 20

# Plain text that a browser could still sniff as markup is refused outright: "plain text"
# must not be a way to get HTML or SVG onto the server.
_MARKUP = re.compile(rb"<\s*(!doctype|html|head|body|script|svg|iframe|object|embed|\?xml)", re.I)


def sniff_content_type(head: bytes) -> str | None:
    """The type of a file from its first bytes, or None if it is not one we accept."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    return TEXT if _is_plain_text(head) else None


def _is_plain_text(head: bytes) -> bool:
    if not head or b"\x00" in head or _MARKUP.search(head):
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sample may end inside a multi-byte character: only that is forgiven.
        if exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    return controls == 0


def sanitise_name(name: str, *, max_length: int = 120) -> str:
    """A display label for an uploaded file's name: no directories, no control characters.

    Used only for showing the name; the file is stored under its digest.
    """
    name = unicodedata.normalize("NFKC", name or "")
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    name = re.sub(r"[^\w.\- ()+]", "_", name).strip(" .")
    name = re.sub(r"\.{2,}", ".", name)
    return name[:max_length] or "file"


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed the checks: its bytes, digest, sniffed type and safe label."""

    content: bytes
    sha256: str
    content_type: str
    size: int
    original_name: str

    def as_file(self) -> ContentFile:
        # The name given here is ignored by the digest-based upload_to functions.
        return ContentFile(self.content, name=f"{self.sha256}.{EXTENSIONS[self.content_type]}")


def check_upload(upload: UploadedFile, *, field: str = "files") -> CheckedUpload:
    """Read one upload (at most ``MAX_UPLOAD_BYTES``), and decide its type by its content.

    Raises ``ValidationError`` (keyed by ``field``) for an oversized or unaccepted file.
    """
    limit = settings.MAX_UPLOAD_BYTES
    label = sanitise_name(getattr(upload, "name", "") or "")
    if upload.size is not None and upload.size > limit:
        raise ValidationError({field: [_too_big(label, limit)]})
    upload.seek(0)
    # Read one byte past the limit: a lying size header cannot smuggle a bigger file in.
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise ValidationError({field: [_too_big(label, limit)]})
    if not content:
        raise ValidationError({field: [f"{label}: the file is empty."]})
    content_type = sniff_content_type(content[:8192])
    if content_type is None:
        raise ValidationError(
            {
                field: [
                    f"{label}: this kind of file is not accepted. Upload a PNG, JPEG, GIF or "
                    "WebP image, a PDF, or a plain-text file."
                ]
            }
        )
    return CheckedUpload(
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        content_type=content_type,
        size=len(content),
        original_name=label,
    )


def check_uploads(uploads: Iterable[UploadedFile], *, field: str = "files") -> list[CheckedUpload]:
    """Check every upload before anything is stored; all field errors are collected."""
    checked: list[CheckedUpload] = []
    errors: list[str] = []
    for upload in uploads:
        try:
            checked.append(check_upload(upload, field=field))
        except ValidationError as exc:
            errors.extend(exc.message_dict[field])
    if errors:
        raise ValidationError({field: errors})
    return checked


def _too_big(label: str, limit: int) -> str:
    return f"{label}: the file is larger than the limit of {limit // (1024 * 1024) or 1} MB."


def serve_upload(
    file_field,
    *,
    content_type: str,
    original_name: str,
    cache_control: str = "private, no-store",
) -> HttpResponse:
    """Serve a stored upload safely: images inline, everything else as an attachment, with
    the sniffed type, ``nosniff`` and a sandboxing CSP so nothing in it can run.

    ``cache_control``: not stored by default; a page that shows the images as thumbnails (the
    analyst's case page) may let the browser keep them a while (``private, max-age=...``).
    """
    try:
        handle = file_field.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The file is missing from storage.") from exc
    as_attachment = content_type not in IMAGE_TYPES
    response = FileResponse(
        handle,
        as_attachment=as_attachment,
        filename=sanitise_name(original_name) if as_attachment else None,
        content_type=content_type if content_type in ACCEPTED_TYPES else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = cache_control
    return response


class MultipleFileInput(forms.ClearableFileInput):
    """A file input that takes several files at once."""

    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several uploaded files as a list, at most ``max_files``; the checks of ``check_uploads``
    run in the service."""

    def __init__(self, *args: object, max_files: int = MAX_FILES, **kwargs: object) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        self.max_files = max_files
        super().__init__(*args, **kwargs)

    def clean(self, data: object, initial: object = None) -> list[UploadedFile]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        if len(files) > self.max_files:
            raise ValidationError(f"Upload at most {self.max_files} files at once.", code="max")
        return [super(MultipleFileField, self).clean(f, initial) for f in files]
