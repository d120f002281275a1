"""Re-propagation after a correction: recompute only the stretch of track that it invalidated.

The review session's scheduler (`scheduler.py`) calls `repair` for each stretch around an edit.
Like the rest of propagation it is pure: it returns `PropagatedBox` values and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..datamodel import Box, Detection, Source, iou_xywh
from ..video import FrameSource
from .propagate import (
    AGREEMENT_IOU,
    DEFAULT_MAX_SPAN,
    DEFAULT_MIN_CONFIDENCE,
    DEFAULT_PATIENCE,
    PropagatedBox,
    _check_frames,
    _snap,
    _steps,
    _trusted,
    track_between,
)

# A run agreeing this well with the track's existing boxes for this many frames in a row has
# rejoined the track: from there on the existing boxes already follow the corrected keyframe.
REJOIN_IOU = 0.7
REJOIN_FRAMES = 3


def _rejoin(video: FrameSource, key: Box, frames: Sequence[int], tracker: str,
            guide: Mapping[int, Sequence[Detection]] | None, existing: Mapping[int, Box]
            ) -> tuple[list[PropagatedBox], bool]:
    """A run from `key` up to where it rejoins the track's `existing` boxes; (boxes, rejoined).

    The agreeing frames themselves are not returned (their boxes are already right). A run that
    reaches the track's end (its `outside` box) stops there without rejoining: the machine
    ended the track there, and only a person's keyframe beyond it says otherwise. A run that
    has been on the track (IoU >= AGREEMENT_IOU) and then leaves one of its detector boxes with
    a tracker step also counts as rejoining, where it left: a detection the track was linked to
    is better evidence of where the object is than a single-object tracker that no detection
    confirms, and such trackers drift onto neighbours in crowds without their confidence
    showing it.
    """
    out: list[PropagatedBox] = []
    agree, touched = 0, False
    for box in _steps(video, key, _check_frames(key, frames), tracker, DEFAULT_MIN_CONFIDENCE,
                      DEFAULT_PATIENCE, guide):
        old = existing.get(box.frame)
        if old is not None and old.outside:
            break
        overlap = iou_xywh(old.xywh, box.xywh) if old is not None else 0.0
        if touched and overlap < AGREEMENT_IOU and box.source is Source.TRACKER and old is not None \
                and old.source is Source.DETECTOR:
            return out[:len(out) - agree], True
        touched = touched or overlap >= AGREEMENT_IOU
        agree = agree + 1 if overlap >= REJOIN_IOU else 0
        out.append(box)
        if agree >= REJOIN_FRAMES:
            return out[:-REJOIN_FRAMES], True
    while out and not _trusted(out[-1]):
        out.pop()
    return out, False


def repair(video: FrameSource, start: Box | None, end: Box | None, existing: Mapping[int, Box],
           tracker: str = "auto", snap: Mapping[int, Sequence[Detection]] | None = None,
           max_span: int = DEFAULT_MAX_SPAN, guide: Mapping[int, Sequence[Detection]] | None = None
           ) -> list[PropagatedBox]:
    """Re-propagation after a correction: recompute only what the correction invalidated.

    `existing` maps frames to the track's current machine boxes in the stretch. The track was
    made from the whole video (pre-labelling links in both directions and merges fragments),
    so it is better evidence than a single-object tracker run from one keyframe; a correction
    only says it is wrong near the keyframe. Each keyframe's run therefore stops where it
    rejoins the existing boxes (`REJOIN_FRAMES` frames at IoU >= `REJOIN_IOU`): accepting a box
    the track already had costs a few frames and changes nothing, and a fix rewrites the
    track only until it is back on the object. Between two keyframes, when either run does not
    rejoin, the whole stretch is recomputed by `track_between`. With one keyframe, its run goes
    on up to `max_span` frames, or to the track's end.
    """
    runs = []
    for key, other, step in ((start, end, 1), (end, start, -1)):
        if key is None or key.outside:
            continue
        limit = other.frame if other is not None else (video.frame_count if step > 0 else -1)
        if other is None or other.outside:  # nothing to meet on the other side: at most max_span
            limit = min(limit, key.frame + 1 + max_span) if step > 0 else max(limit, key.frame - 1 - max_span)
        frames = range(key.frame + step, limit, step)
        runs.append(_rejoin(video, key, frames, tracker, guide, existing))
    two_sided = start is not None and end is not None and not start.outside and not end.outside
    if two_sided:
        (fwd, fwd_joined), (bwd, bwd_joined) = runs
        if not (fwd_joined and bwd_joined) or (fwd and bwd and fwd[-1].frame >= bwd[-1].frame):
            return track_between(video, start, end, tracker, snap, max_span, guide)
    boxes = sorted((b for run, _ in runs for b in run), key=lambda b: b.frame)
    return _snap(boxes, snap)
