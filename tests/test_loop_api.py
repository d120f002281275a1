"""An evaluation script written only against the public loop API (docs/loop-api.md) drives a whole
annotation of the sample clip: no simulator internals, its own ground-truth oracle."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from vidlabel.datamodel import iou_matrix
from vidlabel.errors import ModelNotFoundError
from vidlabel.prelabelling.pipeline import PrelabelOptions, prelabel
from vidlabel.review.session import ReviewSession
from vidlabel.weights import resolve_detector

from .conftest import SAMPLE, SAMPLE_GT


def _has_weights() -> bool:
    try:
        return bool(resolve_detector())
    except ModelNotFoundError:
        return False


def read_truth(path) -> dict[int, list[tuple[float, float, float, float]]]:
    """MOT rows by 0-based frame, ignore rows (conf 0) left out."""
    truth: dict[int, list] = {}
    for r in np.loadtxt(path, delimiter=",", ndmin=2):
        if r[6] != 0:
            truth.setdefault(int(r[0]) - 1, []).append(tuple(r[2:6]))
    return truth


def pairs(boxes, truth, threshold=0.0):
    if not boxes or not truth:
        return []
    iou = iou_matrix([b.xywh for b in boxes], truth)
    rows, cols = linear_sum_assignment(iou, maximize=True)
    return [(r, c, iou[r, c]) for r, c in zip(rows, cols) if iou[r, c] > threshold]


@pytest.mark.skipif(not _has_weights(), reason="no detector weights: put an export in "
                    "../shared/models/ or models/, or set VIDLABEL_MODEL")
def test_an_evaluation_script_annotates_the_sample_through_the_loop_api(tmp_path):
    truth = read_truth(SAMPLE_GT)
    prelabel(SAMPLE, tmp_path / "sample.vlp", PrelabelOptions(classes=("person",)), progress=False)

    session = ReviewSession.open(tmp_path / "sample.vlp", SAMPLE)
    reviewed, edits = [], 0
    try:
        while True:
            picks = session.next_batch(20, "hybrid")
            if not picks:
                break
            for pick in picks:
                # earlier corrections may still be re-propagating into this frame: look at it
                # once they have settled, as the app redraws a frame before a person judges it
                assert session.wait_idle(timeout=None)
                frame, objs = pick.frame, truth.get(pick.frame, [])
                boxes = session.boxes(frame)
                matched = pairs(boxes, objs, 0.1)
                for r, c, iou in matched:
                    if iou < 0.5:
                        session.move_box(boxes[r].id, objs[c])
                        edits += 1
                for r in set(range(len(boxes))) - {r for r, _, _ in matched}:
                    session.delete_box(boxes[r].id)
                    edits += 1
                for c in set(range(len(objs))) - {c for _, c, _ in matched}:
                    session.add_box(frame, objs[c], 0)
                    edits += 1
                session.accept_frame(frame)
                reviewed.append(frame)
            assert session.wait_idle(timeout=None)
        final = session.all_boxes()
        verified = session.project.verified_frames()
    finally:
        session.close()

    assert sorted(reviewed) == verified == list(range(80))   # every frame shown once, then done
    assert edits > 0                                          # the pre-labels were not perfect
    by_frame: dict[int, list] = {}
    for b in final:
        by_frame.setdefault(b.frame, []).append(b)
    for frame in range(80):
        boxes, objs = by_frame.get(frame, []), truth.get(frame, [])
        good = [p for p in pairs(boxes, objs) if p[2] >= 0.5]
        assert len(good) == len(objs) == len(boxes), f"frame {frame}"
