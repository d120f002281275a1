"""Hand-built projects for the review tests: boxes and raw detections through the store API."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vidlabel.datamodel import Box, Detection, Source, VideoRef
from vidlabel.review.scorer import Scorer
from vidlabel.store.project import MACHINE, Project

THR = 0.25


def make_project(tmp_path: Path, frames: int = 100, name: str = "p.vlp") -> Project:
    ref = VideoRef(str(tmp_path / "none.mp4"), frames, 25.0, 640, 480, "fingerprint")
    return Project.create(tmp_path / name, ref, ["person", "car"])


def add_track(project: Project, frames, xywh=(100, 100, 40, 80), confidence=0.9,
              source=Source.DETECTOR, dx: float = 0.0, verified: bool = False) -> int:
    """A machine track over `frames`, moving `dx` pixels per frame."""
    with project.action("link", MACHINE):
        t = project.new_track()
        for f in frames:
            x, y, w, h = xywh
            project.put_box(Box(f, t, 0, x + dx * f, y, w, h, confidence=confidence, source=source,
                                verified=verified))
    return t


def add_detections(project: Project, dets: dict[int, list[tuple]], frames=None, run: str = "yolo") -> int:
    """Raw candidates per frame: tuples (x, y, w, h, conf) or (x, y, w, h, conf, class_scores)."""
    run_id = project.start_detection_run(run, {"imgsz": 640})
    frames = set(dets) if frames is None else set(frames)
    project.add_detections(run_id, {f: [Detection(f, *d[:4], d[4], 0,
                                                  None if len(d) < 6 else np.asarray(d[5], np.float32))
                                        for d in dets.get(f, [])] for f in frames})
    return run_id


def scored(project: Project, **kw) -> Scorer:
    scorer = Scorer(project, accept_threshold=THR, **kw)
    scorer.rescore_all()
    return scorer


def sample_project(tmp_path: Path, sample: Path, gt: Path, shift: float = 6.0, det_every: int = 10):
    """The bundled clip with its ground truth as machine tracks, shifted by `shift` pixels so a
    correction has something to repair; the ground truth of every `det_every`-th frame serves as
    a detection run (sparse, so that propagation between detections depends on the keyframes)."""
    from vidlabel.store.files import create_project

    project, video = create_project(sample, tmp_path / "sample.vlp", ["person"])
    rows = np.loadtxt(gt, delimiter=",")
    tracks: dict[int, int] = {}
    with project.action("import", MACHINE):
        for row in rows:
            f, obj = int(row[0]) - 1, int(row[1])
            if obj not in tracks:
                tracks[obj] = project.new_track()
            project.put_box(Box(f, tracks[obj], 0, row[2] + shift, row[3], row[4], row[5],
                                confidence=0.7, source=Source.TRACKER))
    add_detections(project, {int(r[0]) - 1: [] for r in rows} | {
        f: [tuple(r[2:6]) + (0.8,) for r in rows if int(r[0]) - 1 == f]
        for f in range(0, video.frame_count, det_every)})
    return project, video, tracks


def put_jittered_ground_truth(project: Project, gt: Path, rng: np.random.Generator) -> None:
    """The ground truth as machine detector tracks, jittered by a few pixels, with made-up
    confidences, so that a review session has something to rank (call inside an action)."""
    tracks: dict[int, int] = {}
    for row in np.loadtxt(gt, delimiter=","):
        obj = int(row[1])
        tracks.setdefault(obj, project.new_track())
        project.put_box(Box(int(row[0]) - 1, tracks[obj], 0, row[2] + rng.normal(0, 3),
                            row[3] + rng.normal(0, 3), row[4], row[5],
                            confidence=float(rng.uniform(0.3, 0.95)), source=Source.DETECTOR))
