"""vidlabel: video annotation that ranks frames by uncertainty and spreads every correction.

The public Python API is the names below, imported from the package itself
(`from vidlabel import ReviewSession, prelabel`); where each one lives is in
docs/architecture.md. They load on first use, so `import vidlabel` (and `vidlabel --help`)
does not import torch, OpenCV or Qt.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    # data model
    "Box": "datamodel", "Detection": "datamodel", "EditKind": "datamodel",
    "IgnoreRegion": "datamodel", "Source": "datamodel", "VideoRef": "datamodel",
    "VidlabelError": "errors",
    # video and store
    "open_video": "video", "Project": "store.project", "create_project": "store.files",
    # pre-labelling and propagation
    "prelabel": "prelabelling.pipeline", "PrelabelOptions": "prelabelling.pipeline",
    "propagate": "propagation.propagate", "track_between": "propagation.propagate",
    "interpolate": "propagation.propagate",
    # review
    "ReviewSession": "review.session", "QueueUpdate": "review.session",
    "Pick": "review.strategies", "STRATEGIES": "review.strategies",
    "TimeModel": "review.effort", "human_seconds": "review.effort",
    # formats
    "export_projects": "formats", "import_annotations": "formats",
    "ExportOptions": "formats.common", "ImportOptions": "formats.common",
    # simulation
    "run_loop": "simulation.loop", "SimulatedAnnotator": "simulation.annotator",
    "Annotator": "simulation.annotator", "Decision": "simulation.annotator",
    "GroundTruth": "simulation.groundtruth", "ShownFrames": "simulation.groundtruth",
}
__all__ = ["Annotator", "Box", "Decision", "Detection", "EditKind", "ExportOptions", "GroundTruth", "IgnoreRegion",
    "ImportOptions", "Pick", "PrelabelOptions", "Project", "QueueUpdate", "ReviewSession", "STRATEGIES",
    "ShownFrames", "SimulatedAnnotator", "Source", "TimeModel", "VideoRef", "VidlabelError", "create_project",
    "export_projects", "human_seconds", "import_annotations", "interpolate", "open_video",
    "prelabel", "propagate", "run_loop", "track_between"]


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'vidlabel' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:  # what type checkers and editors see; nothing of it runs
    from .datamodel import Box, Detection, EditKind, IgnoreRegion, Source, VideoRef
    from .errors import VidlabelError
    from .formats import export_projects, import_annotations
    from .formats.common import ExportOptions, ImportOptions
    from .prelabelling.pipeline import PrelabelOptions, prelabel
    from .propagation.propagate import interpolate, propagate, track_between
    from .review.effort import TimeModel, human_seconds
    from .review.session import QueueUpdate, ReviewSession
    from .review.strategies import STRATEGIES, Pick
    from .simulation.annotator import Annotator, Decision, SimulatedAnnotator
    from .simulation.groundtruth import GroundTruth, ShownFrames
    from .simulation.loop import run_loop
    from .store.files import create_project
    from .store.project import Project
    from .video import open_video
