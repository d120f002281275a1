"""One interface over OpenCV's single-object trackers, each step returning a box and a confidence.

Why a wrapper: OpenCV's trackers answer "ok / failed", and "ok" is not worth much. CSRT, KCF and
MIL keep reporting ok while their box slides onto the background or onto a passer-by, and
NanoTrack's own score stays near 0.85 after it has drifted off the person (measured on PETS09,
see ../shared/models/README.md). A box that nobody checked must not be trusted, so every step
here also measures an **appearance score**: the normalised cross-correlation of the tracked
patch against the template cut from the verified start box (both resized to one small canonical
size, the best match over a few pixels of misalignment), times a sanity factor that falls when
the box's area or aspect ratio wanders far from the start box's. A drifting box therefore shows
up as a falling confidence, and propagation stops where it collapses.

VitTrack is the exception: its score is a real localisation confidence and is used as is (it is
only available when its ONNX model, `object_tracking_vittrack_2023sep.onnx`, is in a model
folder; `vidlabel.weights.find_vittrack`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from .. import weights
from ..datamodel import XYWH
from ..errors import TrackerError

# Preference order for "auto": CSRT is the most accurate of the classic trackers (contrib build
# only); NanoTrack is a fast learned tracker when its ONNX pair is present; KCF is fast but has
# no scale adaptation; MIL ships with every OpenCV build, so "auto" always finds something, but
# it is last because it is slow and not reproducible (its sampler's RNG is seeded from the clock,
# so two runs on the same frames give different boxes).
AUTO_ORDER = ("csrt", "nano", "kcf", "mil", "vit")
# Side of the canonical patch (longer side, pixels) that appearance is compared at: small enough
# to cost microseconds, large enough to keep a person's colour layout.
TEMPLATE_SIDE = 32
# Misalignment tolerated when matching the template, as a share of the canonical patch: a
# correctly tracked box is rarely pixel-aligned with the start box's content.
SEARCH_MARGIN = 0.15
# Area and aspect changes within these factors are ordinary (walking, turning, perspective);
# beyond them the sanity factor decays exponentially in the log-ratio.
AREA_TOLERANCE = 2.0
ASPECT_TOLERANCE = 1.5
HISTOGRAM_BINS = 8  # per channel: coarse enough for a 20x60 px pedestrian to fill it meaningfully
HISTOGRAM_SIDE = 96  # larger patches are shrunk to this before their histogram is taken
MIN_SIDE = 4  # a box narrower than this (inside the frame) carries no trackable appearance
# KCF's own peak threshold (0.5 by default) drops small, low-contrast targets within two or
# three frames (on the sample clip, 5 of 6 pedestrians were lost by frame 3). The appearance
# score catches drift instead, so KCF is allowed to keep going on weaker peaks.
KCF_DETECT_THRESHOLD = 0.3


def _constructor(name: str) -> Callable[[], object] | None:
    """The `cv2` factory for a classic tracker, top-level (OpenCV >= 4.5.1) or legacy."""
    for module in (cv2, getattr(cv2, "legacy", None)):
        factory = getattr(module, name, None) if module is not None else None
        if factory is not None:
            return factory
    return None


def available_trackers() -> dict[str, bool]:
    """Which single-object trackers this machine can create (OpenCV build plus model files)."""
    return {
        "csrt": _constructor("TrackerCSRT_create") is not None,
        "kcf": _constructor("TrackerKCF_create") is not None,
        "mil": _constructor("TrackerMIL_create") is not None,
        "nano": hasattr(cv2, "TrackerNano_create") and weights.find_nanotrack() is not None,
        "vit": hasattr(cv2, "TrackerVit_create") and weights.find_vittrack() is not None,
    }


def resolve_tracker_name(name: str = "auto") -> str:
    """The concrete tracker `name` stands for; `TrackerError` naming the available ones if none."""
    have = available_trackers()
    usable = [n for n in AUTO_ORDER if have[n]]
    key = (name or "auto").strip().lower()
    if key == "auto":
        if not usable:
            raise TrackerError("no single-object tracker is available in this OpenCV build",
                               "run `vidlabel doctor`")
        return usable[0]
    if key not in have:
        raise TrackerError(f"unknown tracker {name!r}; available: {', '.join(usable) or 'none'}",
                           "--tracker")
    if not have[key]:
        why = {"csrt": "needs opencv-contrib-python(-headless)", "kcf": "needs opencv-contrib-python(-headless)",
               "nano": f"needs {' and '.join(weights.NANOTRACK_FILES)} in a model folder",
               "vit": f"needs {weights.VITTRACK_FILE} in a model folder",
               "mil": "needs OpenCV's tracking module"}[key]
        raise TrackerError(f"tracker {key!r} is not available here ({why}); available: "
                           f"{', '.join(usable) or 'none'}", "--tracker")
    return key


def _make_cv_tracker(name: str) -> object:
    if name == "csrt":
        return _constructor("TrackerCSRT_create")()
    if name == "kcf":
        if not hasattr(cv2, "TrackerKCF_Params"):  # legacy-only builds take no parameters
            return _constructor("TrackerKCF_create")()
        params = cv2.TrackerKCF_Params()
        params.detect_thresh = KCF_DETECT_THRESHOLD
        return cv2.TrackerKCF_create(params)
    if name == "mil":
        return _constructor("TrackerMIL_create")()
    if name == "nano":
        backbone, head = weights.find_nanotrack()
        params = cv2.TrackerNano_Params()
        params.backbone, params.neckhead = backbone, head
        return cv2.TrackerNano_create(params)
    if name == "vit":
        params = cv2.TrackerVit_Params()
        params.net = weights.find_vittrack()
        return cv2.TrackerVit_create(params)
    raise AssertionError(name)  # resolve_tracker_name() admits only the names above


def clip_to_frame(xywh: XYWH, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """The integer part of a box inside a frame of `shape`, or None if too little is visible."""
    height, width = shape[:2]
    x1, y1 = max(0, int(round(xywh[0]))), max(0, int(round(xywh[1])))
    x2 = min(width, int(round(xywh[0] + xywh[2])))
    y2 = min(height, int(round(xywh[1] + xywh[3])))
    if x2 - x1 < MIN_SIDE or y2 - y1 < MIN_SIDE:
        return None
    return x1, y1, x2 - x1, y2 - y1


def _resize(patch: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-averaged resize to `size` (w, h); large shrinks decimate first.

    `cv2.INTER_AREA` costs milliseconds on a large patch shrunk by a non-integer factor; taking
    every k-th pixel first (down to about twice the target) keeps it in microseconds with the
    same anti-aliased result for practical purposes.
    """
    step = int(min(patch.shape[1] / size[0], patch.shape[0] / size[1]) // 2)
    if step > 1:
        patch = patch[::step, ::step]
    return cv2.resize(patch, size, interpolation=cv2.INTER_AREA)


def _histogram(patch: np.ndarray) -> np.ndarray:
    """A coarse BGR colour histogram (HISTOGRAM_BINS per channel), summing to 1.

    Large patches are shrunk first (longer side HISTOGRAM_SIDE): the histogram barely changes
    and its cost stops growing with the box.
    """
    side = max(patch.shape[:2])
    if side > HISTOGRAM_SIDE:
        scale = HISTOGRAM_SIDE / side
        patch = _resize(patch, (max(1, round(patch.shape[1] * scale)), max(1, round(patch.shape[0] * scale))))
    hist = cv2.calcHist([patch], [0, 1, 2], None, [HISTOGRAM_BINS] * 3, [0, 256] * 3)
    return cv2.normalize(hist, hist, 1.0, 0.0, cv2.NORM_L1)


class Appearance:
    """How much a box's content still looks like the verified start box's content (0..1).

    The template is the start patch resized so that its longer side is `TEMPLATE_SIDE`. A later
    box's patch, cut with a margin of `SEARCH_MARGIN` on each side and resized by the same
    factors relative to the box, is matched with `cv2.TM_CCOEFF_NORMED` (zero-mean normalised
    cross-correlation over the three colour channels); the best match over the margin is the
    score, negative correlations count as 0. A flat template (no texture) matches nothing
    reliably and scores 0, which sends the box to review rather than trusting it.
    """

    def __init__(self, frame: np.ndarray, xywh: XYWH) -> None:
        rect = clip_to_frame(xywh, frame.shape)
        if rect is None:
            raise TrackerError(f"box {tuple(round(v, 1) for v in xywh)} shows less than "
                               f"{MIN_SIDE} px of the {frame.shape[1]}x{frame.shape[0]} frame")
        x, y, w, h = rect
        scale = TEMPLATE_SIDE / max(w, h)
        self.size = (max(MIN_SIDE, round(w * scale)), max(MIN_SIDE, round(h * scale)))
        self.template = _resize(frame[y:y + h, x:x + w], self.size)
        self.histogram = _histogram(frame[y:y + h, x:x + w])
        self.area = float(xywh[2] * xywh[3])
        self.aspect = float(xywh[2] / xywh[3])

    def score(self, frame: np.ndarray, xywh: XYWH) -> float:
        """Geometric mean of layout and colour match, times the geometry sanity factor, in [0, 1]."""
        return math.sqrt(self.match(frame, xywh) * self.colour(frame, xywh)) * self.sanity(xywh)

    def colour(self, frame: np.ndarray, xywh: XYWH) -> float:
        """1 - Bhattacharyya distance between the colour histograms of the box and the template."""
        patch = self._cut(frame, xywh)
        if patch is None:
            return 0.0
        return max(0.0, 1.0 - cv2.compareHist(self.histogram, _histogram(patch), cv2.HISTCMP_BHATTACHARYYA))

    def match(self, frame: np.ndarray, xywh: XYWH) -> float:
        tw, th = self.size
        mx, my = xywh[2] * SEARCH_MARGIN, xywh[3] * SEARCH_MARGIN
        padded = (xywh[0] - mx, xywh[1] - my, xywh[2] + 2 * mx, xywh[3] + 2 * my)
        patch = self._cut(frame, padded)
        if patch is None:
            return 0.0
        pw = max(tw, round(tw * (1 + 2 * SEARCH_MARGIN)))
        ph = max(th, round(th * (1 + 2 * SEARCH_MARGIN)))
        patch = _resize(patch, (pw, ph))
        result = cv2.matchTemplate(patch, self.template, cv2.TM_CCOEFF_NORMED)
        best = float(np.nanmax(result)) if np.isfinite(result).any() else 0.0
        return min(1.0, max(0.0, best))

    @staticmethod
    def _cut(frame: np.ndarray, xywh: XYWH) -> np.ndarray | None:
        """The box's pixels, with the part outside the frame filled by border replication."""
        x1, y1 = int(round(xywh[0])), int(round(xywh[1]))
        x2, y2 = int(round(xywh[0] + xywh[2])), int(round(xywh[1] + xywh[3]))
        height, width = frame.shape[:2]
        if x2 - x1 < MIN_SIDE or y2 - y1 < MIN_SIDE or x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
            return None
        inner = frame[max(0, y1):min(height, y2), max(0, x1):min(width, x2)]
        if min(inner.shape[:2]) < 1:
            return None
        pads = (max(0, -y1), max(0, y2 - height), max(0, -x1), max(0, x2 - width))
        if any(pads):
            inner = cv2.copyMakeBorder(inner, *pads, cv2.BORDER_REPLICATE)
        return inner

    def sanity(self, xywh: XYWH) -> float:
        """1 while area and aspect stay within ordinary change; decays beyond."""
        if xywh[2] <= 0 or xywh[3] <= 0:
            return 0.0
        area = abs(math.log(xywh[2] * xywh[3] / self.area))
        aspect = abs(math.log(xywh[2] / xywh[3] / self.aspect))
        excess = max(0.0, area - math.log(AREA_TOLERANCE)) + max(0.0, aspect - math.log(ASPECT_TOLERANCE))
        return math.exp(-2.0 * excess)


class SingleObjectTracker:
    """One OpenCV tracker following one box, with a confidence per step.

    `init(frame, xywh)` starts it on a verified box; `update(frame)` returns `(xywh, confidence)`
    for the next frame, or `(None, 0.0)` when the tracker reports failure or its box has left the
    frame. Trackers are stateful and single-use: create one per run.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._tracker = _make_cv_tracker(name)
        self._appearance: Appearance | None = None

    def init(self, frame_bgr: np.ndarray, xywh: XYWH) -> None:
        rect = clip_to_frame(xywh, frame_bgr.shape)
        if rect is None:
            raise TrackerError(f"box {tuple(round(v, 1) for v in xywh)} shows less than {MIN_SIDE} px "
                               f"of the {frame_bgr.shape[1]}x{frame_bgr.shape[0]} frame; nothing to track")
        self._appearance = Appearance(frame_bgr, xywh)
        self._tracker.init(frame_bgr, rect)

    def update(self, frame_bgr: np.ndarray) -> tuple[XYWH | None, float]:
        if self._appearance is None:
            raise TrackerError("tracker updated before init", self.name)
        try:
            ok, rect = self._tracker.update(frame_bgr)
        except cv2.error:  # e.g. CSRT on a box squeezed to nothing at the border
            return None, 0.0
        if not ok:
            return None, 0.0
        xywh = tuple(float(v) for v in rect)
        if clip_to_frame(xywh, frame_bgr.shape) is None:
            return None, 0.0
        return xywh, self._confidence(frame_bgr, xywh)

    def native_score(self) -> float | None:
        """The tracker's own score for its last step (NanoTrack, VitTrack), None for the others.

        Exposed so that benchmarks can show what trusting it alone would give.
        """
        if self.name not in ("nano", "vit"):
            return None
        return float(np.clip(self._tracker.getTrackingScore(), 0.0, 1.0))

    def _confidence(self, frame_bgr: np.ndarray, xywh: XYWH) -> float:
        if self.name == "vit":
            return self.native_score() * self._appearance.sanity(xywh)
        appearance = self._appearance.score(frame_bgr, xywh)
        if self.name == "nano":
            # NanoTrack's score does not fall on drift, but a low one still means trouble.
            return min(appearance, self.native_score())
        return appearance


def create_tracker(name: str = "auto") -> SingleObjectTracker:
    """A fresh tracker by name (`auto`, `csrt`, `kcf`, `mil`, `nano`, `vit`)."""
    return SingleObjectTracker(resolve_tracker_name(name))
