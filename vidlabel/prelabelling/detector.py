"""The detector: any Ultralytics detection model run on vidlabel's own exact frames, in batches.

Why a wrapper at all: Ultralytics reads videos with OpenCV, whose seeking can land on the wrong
frame, and it keeps only the top class of each box. Here frames come from `vidlabel.video` (exact
0-based indices), batches are decoded one at a time so a video is never held in memory, and each
kept box also carries its full class-score vector, gathered from the raw model output at the
indices non-maximum suppression kept (`return_idxs=True`), so uncertainty can later see how close
the runner-up class was.

Two thresholds, on purpose: the detector keeps every candidate above a low *candidate* threshold
(stored raw, see docs/adr/0001), and linking decides later which of them become boxes with the
*accept* threshold (`--conf`). Classes are handled by name (docs/adr/0003).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..datamodel import Detection
from ..errors import DetectorError, ModelNotFoundError, one_line
from ..video import FrameSource
from ..weights import missing_default_message, quiet_ultralytics, resolve_detector

CANDIDATE_CONF = 0.05  # low enough that borderline objects exist for uncertainty scoring
NMS_IOU = 0.7  # Ultralytics' predict default
DEFAULT_BATCH = 8  # frames decoded, detected and stored together (one transaction, one Cancel step)


@dataclass(frozen=True)
class DetectorInfo:
    """What identifies a detection run: a resumed run must use the very same model and settings."""

    model: str
    params: dict


def _predictor_class():
    """A `DetectionPredictor` that also returns each kept box's class-score row.

    Built lazily so importing vidlabel does not import torch and Ultralytics.
    """
    from ultralytics.models.yolo.detect import DetectionPredictor
    from ultralytics.utils import nms

    class ScoringPredictor(DetectionPredictor):
        def postprocess(self, preds, img, orig_imgs, **kwargs):
            raw = preds[0] if isinstance(preds, (list, tuple)) else preds
            end2end = getattr(self.model, "end2end", False)
            kept, idxs = nms.non_max_suppression(
                preds, self.args.conf, self.args.iou, self.args.classes, self.args.agnostic_nms,
                max_det=self.args.max_det, nc=len(self.model.names), end2end=end2end, return_idxs=True)
            results = self.construct_results(kept, img, orig_imgs)
            nc = len(self.model.names)
            for b, (result, idx) in enumerate(zip(results, idxs)):
                # End-to-end models (YOLOv10, YOLO26) output (B, 300, 6): no score vector exists.
                if end2end or raw.shape[1] < 4 + nc:
                    result.class_scores = None
                else:
                    rows = raw[b, 4:4 + nc, idx.long()].T
                    result.class_scores = rows.float().cpu().numpy()
            return results

    return ScoringPredictor


class Detector:
    """A loaded detection model; `detect(frames)` turns BGR frames into raw `Detection`s.

    `Detection.class_id` here is the *model's* class index; `class_names` maps it to a name, and
    callers map names to project classes (docs/adr/0003).
    """

    def __init__(self, model: str | None = None, device: str | None = None,
                 candidate_conf: float = CANDIDATE_CONF, classes: Sequence[str] | None = None,
                 imgsz: int | None = None, batch: int = DEFAULT_BATCH) -> None:
        if not 0 < candidate_conf < 1:
            raise DetectorError(f"candidate threshold must be in (0, 1), got {candidate_conf}")
        self.path = resolve_detector(model)
        self.device = device
        self.candidate_conf = candidate_conf
        self.imgsz = imgsz
        self.batch = max(1, int(batch))
        self.inference_batch = self.batch if _on_gpu(device) else 1
        self._predictor = self._load(self.path)
        names = self._predictor.model.names
        self.class_names: list[str] = [names[i] for i in sorted(names)]
        self.class_indices = self._class_indices(classes)
        self._predictor.args.classes = self.class_indices

    # ------------------------------------------------------------------ loading
    def _load(self, path: str):
        """The predictor that runs the model, built once and reused by every call.

        Built here rather than by `YOLO.predict`, which would first build a stock predictor to
        read an exported model's class names and then a second one for ours (compiling an
        OpenVINO model twice). Building it also builds the inference backend, so a broken export
        fails here, inside the one error.
        """
        quiet_ultralytics()
        from ultralytics import YOLO

        p = Path(path)
        if p.is_file() and p.suffix.lower() not in (".pt", ".onnx", ".xml", ".engine", ".torchscript"):
            raise DetectorError("not a detector model (expected .pt, .onnx or an OpenVINO folder)", path)
        to_download = not p.exists()  # resolve_detector chose an Ultralytics asset to fetch
        try:
            # `task="detect"` because exported models (OpenVINO, ONNX) may not say what they are.
            model = YOLO(path, task="detect")
            args = {**model.overrides, "conf": self.candidate_conf, "iou": NMS_IOU, "verbose": False,
                    "batch": self.inference_batch, "save": False, "mode": "predict", "rect": True}
            if self.device:
                args["device"] = self.device
            if self.imgsz:
                args["imgsz"] = self.imgsz
            predictor = _predictor_class()(overrides=args, _callbacks=model.callbacks)
            predictor.setup_model(model=model.model, verbose=False)
            return predictor
        except Exception as exc:  # Ultralytics raises many types for a bad file; one clear error here
            if to_download and not p.exists():
                raise ModelNotFoundError(f"{missing_default_message()} (downloading {p.name} failed: "
                                         f"{one_line(exc)})") from None
            raise DetectorError(f"cannot load the detector: {type(exc).__name__}: {one_line(exc)}",
                                path) from None

    def _class_indices(self, classes: Sequence[str] | None) -> list[int] | None:
        """Model class indices for the names asked for; None means every class."""
        if not classes:
            return None
        lower = {n.lower(): i for i, n in enumerate(self.class_names)}
        unknown = [c for c in classes if c.strip().lower() not in lower]
        if unknown:
            raise DetectorError(
                f"class {', '.join(map(repr, unknown))} is not one of the model's classes: "
                f"{', '.join(self.class_names)}", self.path)
        return sorted({lower[c.strip().lower()] for c in classes})

    @property
    def info(self) -> DetectorInfo:
        """The model and settings that decide what it outputs (the key of a detection run)."""
        return DetectorInfo(str(Path(self.path).resolve()) if Path(self.path).exists() else self.path,
                            {"candidate_conf": self.candidate_conf, "iou": NMS_IOU, "imgsz": self.imgsz,
                             "classes": self.class_indices})

    # ------------------------------------------------------------------ running
    def detect(self, images: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Raw candidates for each image (frame numbers are the positions in `images`).

        Images go to the model `inference_batch` at a time. On the CPU that is one: Ultralytics
        runs a static-batch export image by image anyway, and preparing eight together (one
        stacked float tensor, then concatenating the outputs) cost 6 s of PETS09's 40.
        """
        step = self.inference_batch
        try:
            results = [r for i in range(0, len(images), step)
                       for r in self._predictor(source=list(images[i:i + step]))]
        except (RuntimeError, ValueError) as exc:
            raise DetectorError(f"the detector failed: {exc}", self.path) from None
        return [self._to_detections(i, r) for i, r in enumerate(results)]

    @staticmethod
    def _to_detections(frame: int, result) -> list[Detection]:
        boxes = result.boxes.cpu().numpy()
        scores = result.class_scores
        out = []
        for k, ((x1, y1, x2, y2), conf, cls) in enumerate(zip(boxes.xyxy, boxes.conf, boxes.cls)):
            if x2 <= x1 or y2 <= y1:
                continue
            out.append(Detection(frame, float(x1), float(y1), float(x2 - x1), float(y2 - y1),
                                 float(conf), int(cls), None if scores is None else scores[k].copy()))
        return out

    def run(self, video: FrameSource, frames: Iterable[int]) -> Iterator[dict[int, list[Detection]]]:
        """Detect on the given frame indices, yielding one batch `{frame: detections}` at a time.

        The next batch is decoded in a background thread while the model runs on this one (PyAV
        and the inference engines release the GIL), so decoding costs little wall time.
        """
        batches = runs(sorted(set(frames)), self.batch)

        def decode(indices: list[int]) -> list[np.ndarray]:
            return [video.frame(i) for i in indices]

        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = None
            for indices in batches:
                future = pool.submit(decode, indices)
                if pending is not None:
                    yield self._detect_batch(*pending)
                pending = (indices, future)
            if pending is not None:
                yield self._detect_batch(*pending)

    def _detect_batch(self, indices: list[int], future) -> dict[int, list[Detection]]:
        per_image = self.detect(future.result())
        return {f: [replace(d, frame=f) for d in dets] for f, dets in zip(indices, per_image)}


def _on_gpu(device: str | None) -> bool:
    """Whether inference will run on a CUDA device (Ultralytics picks one when `device` is None).

    Only there do images go through the model together. On the CPU a batch buys nothing: the
    exported models (OpenVINO, ONNX) have a static batch of one, so Ultralytics runs them image
    by image and then concatenates the outputs, which measured 10-20% slower than one image per
    call on PETS09 (`benchmarks/bench_prelabel.py`).
    """
    import torch

    if device is not None:
        return str(device).strip().lower() not in ("cpu", "mps") and torch.cuda.is_available()
    return torch.cuda.is_available()


def runs(items: list[int], size: int) -> Iterator[list[int]]:
    """`items` in order, as consecutive runs of at most `size` (batches here, Ray's chunks too)."""
    for i in range(0, len(items), size):
        yield items[i:i + size]

