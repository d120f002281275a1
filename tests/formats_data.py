"""Projects that exercise every field a format may carry, and a field-by-field comparison."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidlabel.datamodel import Box, IgnoreRegion, Source
from vidlabel.formats.common import in_image
from vidlabel.store.files import create_project
from vidlabel.store.project import Project

from .conftest import SAMPLE


def rich_project(path: Path, video: Path = SAMPLE) -> Project:
    """Two classes, every source, verified and unverified boxes, an occluded box, boxes past the
    image edge, an outside mark, a box entirely off-image, ignore regions, a verified frame and
    track ids with gaps."""
    project, source = create_project(video, path, ["person", "Car"])
    source.close()
    with project.action("draw"):
        walker = project.new_track(track_id=3)
        for f, src in enumerate([Source.DETECTOR, Source.TRACKER, Source.INTERPOLATED,
                                 Source.INTERPOLATED, Source.HUMAN]):
            project.put_box(Box(f, walker, 0, -5.5 + f * 1.125, 10.25, 30.0, 61.75, 0.1 + f / 7,
                                src, verified=f in (1, 4), occluded=f == 2))
        project.put_box(Box(5, walker, 0, 0, 0, 0, 0, 1.0, Source.HUMAN, verified=True, outside=True))
        car = project.new_track(track_id=10)
        project.put_box(Box(1, car, 1, 700.5, 500.25, 90.0, 100.0, 0.93, Source.DETECTOR))
        project.put_box(Box(2, car, 1, 760.0, 560.0, 40.0, 30.0, 0.35, Source.DETECTOR))
        off = project.new_track()
        project.put_box(Box(7, off, 0, 800.0, 10.0, 20.0, 20.0, 0.6, Source.TRACKER))
        project.add_ignore_region(IgnoreRegion(2, 0, 400.0, 100.0, 20.5, 50.0, track_id=3))
        project.add_ignore_region(IgnoreRegion(6, 1, 10.0, 20.0, 30.0, 40.0, occluded=True))
        project.set_frame_verified(1)
        project.set_frame_verified(4)
    return project


def box_key(b: Box) -> tuple:
    return (b.frame, b.track_id, b.class_id, b.source, b.verified, b.outside, b.occluded)


def assert_same_boxes(a: Project, b: Project, fields: str = "all") -> None:
    """Boxes equal field by field (geometry to 1e-6); `fields="mot"` compares what MOT carries.
    A box wholly off the image is no label and no export holds it (`formats.common.select`)."""
    ref = a.video
    boxes_a = [x for x in a.boxes(include_outside=fields == "all")
               if x.outside or in_image(x, ref.width, ref.height)]
    boxes_b = b.boxes(include_outside=fields == "all")
    assert len(boxes_a) == len(boxes_b)
    for x, y in zip(boxes_a, boxes_b):
        if fields == "all":
            assert box_key(x) == box_key(y)
            assert x.confidence == pytest.approx(y.confidence, abs=1e-9)
        else:
            assert (x.frame, x.track_id, x.class_id, x.occluded) == (y.frame, y.track_id, y.class_id, y.occluded)
        assert x.xywh == pytest.approx(y.xywh, abs=1e-6)
    regions = [(r.frame, r.class_id, r.track_id, r.occluded, r.xywh) for r in a.ignore_regions()
               if in_image(r, ref.width, ref.height)]
    assert regions == [(r.frame, r.class_id, r.track_id, r.occluded, r.xywh) for r in b.ignore_regions()]


def full_disk(*args, **kwargs):
    """Stands in for `Path.write_bytes` on a disk with no room left."""
    import errno
    import os

    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
