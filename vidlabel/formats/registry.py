"""The format registry: each format module registers its exporter and importer by name.

CVAT's pattern (a decorator per format over one intermediate model): a new format is one module
with `@exporter("name")` / `@importer("name")`, and nothing else changes. A second registration
under a name already taken is a programming error caught at import, not a silent replacement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from .common import (ClassMap, ExportOptions, ExportVideo, ImportOptions, ImportTarget,
                     ParsedAnnotations)

Exporter = Callable[[Sequence[ExportVideo], Path, ExportOptions], None]
Importer = Callable[[Path, ImportTarget, ClassMap, ImportOptions], ParsedAnnotations]

EXPORTERS: dict[str, Exporter] = {}
IMPORTERS: dict[str, Importer] = {}


def _register(table: dict, kind: str, name: str) -> Callable:
    def register(func):
        if name in table:
            raise ValueError(f"{kind} {name!r} is registered twice ({table[name].__module__} and "
                             f"{func.__module__})")
        table[name] = func
        return func
    return register


def exporter(name: str) -> Callable[[Exporter], Exporter]:
    """Register the decorated function as the exporter of format `name`."""
    return _register(EXPORTERS, "exporter", name)


def importer(name: str) -> Callable[[Importer], Importer]:
    """Register the decorated function as the importer of format `name`."""
    return _register(IMPORTERS, "importer", name)
