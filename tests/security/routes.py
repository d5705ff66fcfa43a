"""Every URL pattern of the project, enumerated from the resolver, with real ids put in.

New endpoints appear here by themselves: ``all_routes()`` walks ``config.urls``; the access
matrix fails on any route it has no expectation for, so nobody can add an endpoint unchecked.
"""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

# Django's own admin is a separate product with its own checks: one page of it stands for all.
ADMIN_SAMPLE = ("admin/", "admin/counterfeits/case/")


@dataclass(frozen=True)
class Route:
    name: str  # namespace:name, unique per pattern (the login page is there twice, see below)
    pattern: str  # the regex/route text joined from the root


def _walk(resolver: URLResolver, prefix: str, namespace: str):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield Route(f"{namespace}{entry.name}", prefix + str(entry.pattern))


def all_routes() -> list[Route]:
    """Each distinct (name, pattern) once; admin reduced to a sample; format suffixes skipped."""
    seen: dict[str, Route] = {}
    for route in _walk(get_resolver(), "", ""):
        if route.pattern.startswith("admin/"):
            continue
        if "<drf_format_suffix" in route.pattern or r"\.(?P<format>" in route.pattern:
            continue
        seen.setdefault(route.pattern, route)
    return sorted(seen.values(), key=lambda r: r.pattern)


_PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>[^)]*\)")


def fill(pattern: str, values: dict[str, object]) -> str:
    """Turn a joined pattern (path converters and DRF router regexes) into a concrete path."""

    def sub(match: re.Match) -> str:
        name = match.group("name") or match.group("rname")
        return str(values[name])

    path = _PARAM.sub(sub, pattern)
    path = path.replace("^", "").replace("$", "")
    return "/" + path
