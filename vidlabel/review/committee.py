"""Query by committee: a second detector's pass over the frames, run when first asked for, cached.

Two detectors that disagree on a frame show where the model family is unsure, independent of
the tracker. The second member is a different model at a different input size (YOLOv8n at 320
when pre-labelling used YOLO11n at 640, and the other way round). Its candidates are stored as
a second detection run of the project (`prelabelling.pipeline.detect_frames`), so the pass is paid once per
frame and survives reopening; frames already in that run are never detected again.

Why not the same model on a flipped or rescaled frame: the shipped 320 export is fixed-size, and
Ultralytics silently ignores other image sizes and `augment` for such exports, so "two passes"
of it would be one pass twice.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..datamodel import Detection, iou_matrix
from ..errors import CommitteeError, ModelNotFoundError
from ..store.project import Project
from ..video import FrameSource
from ..weights import resolve_detector

# Second members to try, in order; the first that is not the primary run's model is used.
COMMITTEE_MODELS = ("yolov8n_int8_openvino_model", "yolo11n_int8_openvino_model", "yolov8n.pt", "yolo11n.pt")


def detector_disagreement(a: list[Detection], b: list[Detection], threshold: float) -> tuple[float, list[str]]:
    """How much two detector passes disagree on one frame: 1 - (sum of matched IoU) / max(n_a, n_b).

    Only candidates at or above the accept threshold vote: below it both passes are expected to
    produce noise. 0 when both agree box for box (or both see nothing), 1 when nothing matches.
    """
    a = [d for d in a if d.confidence >= threshold]
    b = [d for d in b if d.confidence >= threshold]
    if not a and not b:
        return 0.0, []
    matched = 0.0
    if a and b:
        iou = iou_matrix(np.array([d.xywh for d in a]), np.array([d.xywh for d in b]))
        from scipy.optimize import (
            linear_sum_assignment,  # not at import: `vidlabel --help`
        )

        rows, cols = linear_sum_assignment(-iou)
        matched = float(iou[rows, cols].sum())
    score = 1.0 - matched / max(len(a), len(b))
    return score, [f"detectors disagree: {len(a)} vs {len(b)} boxes, agreement {1 - score:.2f}"]


def _same_model(a: str, b: str) -> bool:
    return Path(a).name.lower() == Path(b).name.lower()


def second_model(primary: str | None, model: str | None = None) -> str:
    """The committee's second member: `model` if given, else the first of COMMITTEE_MODELS found
    that differs from the primary run's model."""
    if model:
        return resolve_detector(model)
    for name in COMMITTEE_MODELS:
        if primary is not None and _same_model(name, primary):
            continue
        try:
            return resolve_detector(name)
        except ModelNotFoundError:
            continue
    raise CommitteeError("no second detector for the committee: put one of "
                         f"{', '.join(COMMITTEE_MODELS)} in models/ or pass model=PATH")


class Committee:
    """The two runs of one project, and the lazy second pass that fills the second one."""

    def __init__(self, project: Project, video: FrameSource, primary_run: int | None,
                 model: str | None = None) -> None:
        if primary_run is None:
            raise CommitteeError("the project has no detection run to compare a second detector "
                                 "with; pre-label it first", str(project.path))
        self.project, self.video, self.primary = project, video, primary_run
        runs = {r["id"]: r for r in project.detection_runs()}
        self.primary_model = runs[primary_run]["model"]
        params = runs[primary_run]["params"]
        kept = params.get("classes")
        self.classes = [params["names"][i] for i in kept] if kept and "names" in params else None
        self.model = second_model(self.primary_model, model)
        self._detector = None
        self.second: int | None = next(
            (r["id"] for r in runs.values() if r["id"] != primary_run and _same_model(r["model"], self.model)),
            None)

    def ensure(self, frames: list[int]) -> int:
        """Run the second detector on the frames it has not seen yet; returns its run id."""
        done = self.project.detected_frames(self.second) if self.second is not None else set()
        todo = [f for f in frames if f not in done]
        if todo or self.second is None:
            from ..prelabelling.detector import (
                Detector,  # loading Ultralytics is paid only when asked
            )
            from ..prelabelling.pipeline import detect_frames

            if self._detector is None:  # the same classes as the run it is compared with
                self._detector = Detector(self.model, classes=self.classes)
            self.second, _, _ = detect_frames(self.project, self.video, self._detector, todo, progress=False)
        return self.second

    def scores(self, frames: list[int], threshold: float) -> dict[int, tuple[float, list[str]]]:
        """Per frame, how much the two detectors disagree (see `detector_disagreement`)."""
        second = self.ensure(frames)
        a = self._by_frame(self.primary)
        b = self._by_frame(second)
        return {f: detector_disagreement(a.get(f, []), b.get(f, []), threshold) for f in frames}

    def _by_frame(self, run: int) -> dict[int, list[Detection]]:
        out: dict[int, list[Detection]] = {}
        for d in self.project.detections(run):
            out.setdefault(d.frame, []).append(d)
        return out
