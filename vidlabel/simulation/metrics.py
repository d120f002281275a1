"""Quality of a whole annotation against ground truth, with identity, as in IDF1.

A ground-truth box is *covered* when the produced box matched to it (one-to-one per frame,
maximum total IoU among pairs with IoU >= the threshold, scipy's `linear_sum_assignment`) belongs
to the produced track mapped to that ground-truth object; each produced track maps to the object
it is matched to on most frames. A box on the right person but from the wrong track is therefore
not covered: identity errors cost recall. Produced boxes matched to an ignore region are dropped
before scoring, so ignore regions neither count nor penalise.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..datamodel import Box, iou_matrix
from .groundtruth import GroundTruth


@dataclass(frozen=True)
class Quality:
    quality: float          # F1 of recall_50 and precision_50
    recall_50: float
    recall_70: float
    precision_50: float
    id_switches: int
    gt_boxes: int
    produced_boxes: int


def match(a: np.ndarray, b: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """One-to-one pairs (row of a, row of b) with IoU >= threshold, maximising total IoU."""
    if len(a) == 0 or len(b) == 0:
        return []
    iou = iou_matrix(a, b)
    rows, cols = linear_sum_assignment(np.where(iou >= threshold, iou, 0.0), maximize=True)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if iou[r, c] >= threshold]


def _by_frame(boxes: Iterable[Box]) -> dict[int, list[Box]]:
    out: dict[int, list[Box]] = defaultdict(list)
    for b in boxes:
        if not b.outside:
            out[b.frame].append(b)
    return out


def score(gt: GroundTruth, produced: Iterable[Box]) -> Quality:
    """Score every produced visible box of a video against its ground truth."""
    produced_by_frame = _by_frame(produced)
    pairs50: dict[int, list[tuple[Box, int]]] = {}
    pairs70: dict[int, list[tuple[Box, int]]] = {}
    n_produced = 0
    overlap: dict[int, Counter] = defaultdict(Counter)   # track -> object -> frames matched
    for frame in gt.frames():
        objs = gt.objects(frame)
        kept = _drop_ignored(produced_by_frame.get(frame, []), objs, gt.ignore(frame))
        n_produced += len(kept)
        pa = np.array([b.xywh for b in kept], dtype=float).reshape(-1, 4)
        ga = np.array([o.xywh for o in objs], dtype=float).reshape(-1, 4)
        pairs50[frame] = [(kept[i], objs[j].object_id) for i, j in match(pa, ga, 0.5)]
        pairs70[frame] = [(kept[i], objs[j].object_id) for i, j in match(pa, ga, 0.7)]
        for box, obj in pairs50[frame]:
            overlap[box.track_id][obj] += 1
    mapped = {t: c.most_common(1)[0][0] for t, c in overlap.items()}
    covered = lambda pairs: sum(mapped.get(b.track_id) == o  # noqa: E731
                                for ps in pairs.values() for b, o in ps)
    n_gt = gt.box_count()
    matched = sum(len(ps) for ps in pairs50.values())
    recall50 = covered(pairs50) / n_gt if n_gt else 1.0
    recall70 = covered(pairs70) / n_gt if n_gt else 1.0
    precision = matched / n_produced if n_produced else (1.0 if n_gt == 0 else 0.0)
    f1 = 2 * recall50 * precision / (recall50 + precision) if recall50 + precision > 0 else 0.0
    return Quality(f1, recall50, recall70, precision, _id_switches(pairs50), n_gt, n_produced)


def _drop_ignored(boxes: list[Box], objs, ignore) -> list[Box]:
    """Produced boxes minus those that match an ignore region better than any scored object.

    Matching against scored objects and ignore regions together (as TrackEval does with
    distractors) keeps a box on a real person from being thrown away because an ignore region
    happens to overlap it.
    """
    if not ignore or not boxes:
        return boxes
    pa = np.array([b.xywh for b in boxes], dtype=float)
    ga = np.array([o.xywh for o in objs] + list(ignore), dtype=float)
    dropped = {i for i, j in match(pa, ga, 0.5) if j >= len(objs)}
    return [b for i, b in enumerate(boxes) if i not in dropped]


def _id_switches(pairs: dict[int, list[tuple[Box, int]]]) -> int:
    """Times a ground-truth object is matched to a different track than at its last match."""
    last: dict[int, int] = {}
    switches = 0
    for frame in sorted(pairs):
        for box, obj in pairs[frame]:
            if obj in last and last[obj] != box.track_id:
                switches += 1
            last[obj] = box.track_id
    return switches
