"""Ultralytics YOLO export: exact normalised labels, a contiguous split, a data.yaml Ultralytics accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vidlabel.errors import VidlabelError
from vidlabel.formats import export_projects
from vidlabel.formats.common import ExportOptions, clip_box
from vidlabel.formats.yolo import split_chunks

from .formats_data import full_disk, rich_project


def read_labels(root, split):
    out = {}
    for path in (root / "labels" / split).glob("*.txt"):
        frame = int(path.stem.rsplit("_", 1)[1])
        out[frame] = [tuple(float(v) for v in line.split()) for line in path.read_text().splitlines()]
    return out


def test_labels_are_the_projects_boxes_normalised(tmp_path):
    with rich_project(tmp_path / "a.vlp") as a:
        export_projects([a], "yolo", tmp_path / "ds")
        expected = {}
        for b in a.boxes(include_outside=False):
            c = clip_box(b, 768, 576)
            if c is not None:  # the box entirely right of the image is left out
                expected.setdefault(b.frame, []).append(
                    (b.class_id, (c.x + c.w / 2) / 768, (c.y + c.h / 2) / 576, c.w / 768, c.h / 576))
    labels = read_labels(tmp_path / "ds", "train") | read_labels(tmp_path / "ds", "val")
    assert len(labels) == 80  # every frame, empty frames as background images
    got = {f: rows for f, rows in labels.items() if rows}
    assert sorted(got) == sorted(expected)
    for frame, rows in expected.items():
        for want, have in zip(sorted(rows), sorted(got[frame])):
            assert have == pytest.approx(want, abs=1e-9)  # 1e-9 of 768 px is far below 1e-6 px
    for split in ("train", "val"):
        images = sorted(p.stem for p in (tmp_path / "ds" / "images" / split).iterdir())
        assert images == sorted(p.stem for p in (tmp_path / "ds" / "labels" / split).iterdir())
    data = yaml.safe_load((tmp_path / "ds" / "data.yaml").read_text())
    assert data == {"path": str((tmp_path / "ds").resolve()), "train": "images/train",
                    "val": "images/val", "names": {0: "person", 1: "Car"}}


def test_split_is_by_contiguous_chunks():
    from vidlabel.formats.common import ExportFrame

    frames = [ExportFrame(i, [], [], False) for i in range(0, 200, 2)]
    split = split_chunks(frames, 0.2, 10)
    val = [f for f, s in sorted(split.items()) if s == "val"]
    assert len(val) == 20
    runs = sum(1 for a, b in zip(val, val[1:]) if b != a + 2) + 1
    assert runs == 2  # two chunks of ten neighbouring frames, not twenty scattered frames
    assert 0 < min(val) and max(val) < 198  # val is inside the video, not only its end
    with pytest.raises(VidlabelError, match="at least 2 frames"):
        split_chunks(frames[:1], 0.2, 10)


def test_ultralytics_accepts_the_dataset(tmp_path):
    """Ultralytics' own checks, offline, without training: the YAML and every image/label pair."""
    from vidlabel.weights import quiet_ultralytics

    quiet_ultralytics()
    from ultralytics.data.utils import check_det_dataset, verify_image_label

    with rich_project(tmp_path / "a.vlp") as a:
        export_projects([a], "yolo", tmp_path / "ds", ExportOptions(every=4))
    data = check_det_dataset(str(tmp_path / "ds" / "data.yaml"), autodownload=False)
    assert data["nc"] == 2 and data["names"] == {0: "person", 1: "Car"}
    checked = 0
    for split in ("train", "val"):
        for image in (tmp_path / "ds" / "images" / split).iterdir():
            label = tmp_path / "ds" / "labels" / split / (image.stem + ".txt")
            result = verify_image_label((str(image), str(label), "", False, 2, 0, 3, False))
            assert result[8] == 0, result[-1]  # no corrupt pair
            checked += 1
    assert checked == 20


def test_failed_yolo_export_leaves_nothing(tmp_path, monkeypatch):
    with rich_project(tmp_path / "a.vlp") as a:
        monkeypatch.setattr(Path, "write_bytes", full_disk)
        with pytest.raises(VidlabelError, match="cannot write the export: No space left on device"):
            export_projects([a], "yolo", tmp_path / "ds")
    assert not [p for p in tmp_path.iterdir() if not p.name.startswith("a.vlp")]
