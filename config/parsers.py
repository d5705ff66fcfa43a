"""The API's JSON parser (its own module: DRF's settings import it while views load)."""

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# No request of ours nests deeper than a few levels (a report's evidence list of objects); a
# value nested hundreds deep still parses, then recurses through the serializers and the ORM.
MAX_DEPTH = 32


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested deeper than :data:`MAX_DEPTH` refused as malformed.

    ``json`` recurses once per level and gives up with ``RecursionError`` (no ``ValueError``,
    so DRF let it through as a 500) after about a thousand levels: a few kilobytes of ``[``.
    Below that it parses, and fields that take a list or an id recurse through it later.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the body is nested too deeply.") from exc
        if _deeper_than(data, MAX_DEPTH):
            raise ParseError(
                f"JSON parse error - the body is nested too deeply (at most {MAX_DEPTH} levels)."
            )
        return data


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether lists and objects in ``data`` nest more than ``limit`` deep (no recursion)."""
    level = [data]
    depth = 0
    while containers := [item for item in level if isinstance(item, dict | list)]:
        depth += 1
        if depth > limit:
            return True
        level = [
            child
            for item in containers
            for child in (item.values() if isinstance(item, dict) else item)
        ]
    return False
