"""Every URL the project serves, as concrete paths: the resolver walked, path parameters filled with plausible values.

Used by the anonymous-access test and the permission matrix, so that a page added tomorrow is checked too.
"""

import re
import uuid

from django.urls import Resolver404, get_resolver, resolve

# Plausible values by parameter name; anything else gets "1".
SAMPLE_VALUES = {
    "pk": "1", "id": "1", "object_id": "1", "content_type_id": "1",
    "port": "engineering", "port_code": "engineering", "code": "2026-annual", "survey": "2026-annual",
    "survey_code": "2026-annual", "project": "lake", "project_code": "lake",
    "app_label": "auth", "model_name": "user", "format": "json",
    "uidb64": "MQ", "token": "set-password", "year": "2026", "kind": "responses",
}


def _value(name: str, converters: dict) -> str:
    if name in SAMPLE_VALUES:
        return SAMPLE_VALUES[name]
    converter = converters.get(name)
    if converter is not None and converter.__class__.__name__ == "UUIDConverter":
        return str(uuid.UUID(int=1))
    return "1"


def _walk(resolver, prefix: str, out: dict) -> None:
    for key in list(resolver.reverse_dict.keys()):
        for possibility, _pattern, _defaults, converters in resolver.reverse_dict.getlist(key):
            for fmt, params in possibility:
                path = "/" + prefix + fmt % {p: _value(p, converters) for p in params}
                out.setdefault(path, key if isinstance(key, str) else getattr(key, "__name__", repr(key)))
    for _namespace, (ns_prefix, sub) in resolver.namespace_dict.items():
        _walk(sub, prefix + re.sub(r"[\^$]|\\Z", "", ns_prefix), out)


def all_paths() -> dict[str, str]:
    """{concrete path: URL name or view name} for every pattern that resolves once its parameters are filled."""
    found: dict[str, str] = {}
    _walk(get_resolver(), "", found)
    paths = {}
    for path, name in sorted(found.items()):
        try:
            resolve(path.split("?")[0])
        except Resolver404:
            continue
        paths[path] = name
    return paths
