"""The API's JSON parser (its own module: DRF's settings import it while views load)."""

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested too deep for Python's parser refused as malformed.

    ``json`` recurses once per level and gives up with ``RecursionError`` (no ``ValueError``,
    so DRF let it through as a 500) after about a thousand levels: a few kilobytes of ``[``.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the body is nested too deeply.") from exc
