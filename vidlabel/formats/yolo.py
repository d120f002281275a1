"""Ultralytics YOLO: `images/{train,val}`, `labels/{train,val}` and a `data.yaml` `yolo train` reads.

Labels are `class cx cy w h`, normalised to the image, class = project class id (docs/adr/0003).
Ultralytics rejects a label file with coordinates outside the image, so boxes are always clipped
to the image here (a box entirely outside is left out); YOLO has no track ids, scores or ignore
regions, so those stay in the project and in the COCO/MOT exports.

Train and val are split by contiguous chunks of frames, never by random frames: neighbouring
frames are near duplicates, and a random split would put copies of validation images into
training and make validation scores meaningless.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from ..errors import VidlabelError
from .common import (ExportFrame, ExportOptions, ExportVideo, atomic_folder, clip_box,
                     common_classes, frame_file_name, write_frame_images)
from .registry import exporter

SPLITS = ("train", "val")


def split_chunks(frames: Sequence[ExportFrame], val_fraction: float, chunks: int) -> dict[int, str]:
    """Frame index -> "train"/"val": `chunks` contiguous runs, about `val_fraction` of them val,
    spread over the video so that val sees its beginning, middle and end alike."""
    n = len(frames)
    if n < 2:
        raise VidlabelError(f"a YOLO export needs at least 2 frames per video for a train/val "
                            f"split, got {n}")
    k = min(chunks, n)
    n_val = min(max(1, round(k * val_fraction)), k - 1)
    val_chunks = {int((j + 0.5) * k / n_val) for j in range(n_val)}
    bounds = [round(j * n / k) for j in range(k + 1)]
    return {frames[i].index: ("val" if c in val_chunks else "train")
            for c in range(k) for i in range(bounds[c], bounds[c + 1])}


def label_lines(frame: ExportFrame, width: int, height: int) -> list[str]:
    lines = []
    for box in frame.boxes:
        clipped = clip_box(box, width, height)
        if clipped is None:
            continue
        cx, cy = (clipped.x + clipped.w / 2) / width, (clipped.y + clipped.h / 2) / height
        values = (cx, cy, clipped.w / width, clipped.h / height)
        lines.append(" ".join([str(box.class_id), *(f"{v:.10g}" for v in values)]))
    return lines


def data_yaml(root: Path, names: Sequence[str]) -> str:
    """`path`, `train`, `val`, `names`: what `yolo train data=...` needs and nothing it guesses."""
    return yaml.safe_dump({"path": str(root.resolve()), "train": "images/train",
                           "val": "images/val", "names": dict(enumerate(names))},
                          sort_keys=False, allow_unicode=True)


@exporter("yolo")
def export_yolo(videos: Sequence[ExportVideo], out: Path, options: ExportOptions) -> None:
    if options.write_frames is not None:
        raise VidlabelError("a YOLO export always writes its images into OUT/images; "
                            "--write-frames is for COCO and MOT")
    names = common_classes(videos)
    if not names:
        raise VidlabelError("the project has no classes; YOLO needs at least one", str(videos[0].project.path))
    with atomic_folder(out, options.overwrite) as root:
        for kind in ("images", "labels"):
            for split in SPLITS:
                (root / kind / split).mkdir(parents=True)
        for video in videos:
            split_of = split_chunks(video.frames, options.val_fraction, options.chunks)
            for frame in video.frames:
                label = root / "labels" / split_of[frame.index] / frame_file_name(video.stem, frame.index, ".txt")
                label.write_text("".join(line + "\n" for line in label_lines(frame, video.width, video.height)),
                                 encoding="utf-8")
            write_frame_images(video, lambda i, v=video, s=split_of: root / "images" / s[i] / frame_file_name(v.stem, i))
        (root / "data.yaml").write_text(data_yaml(out, names), encoding="utf-8")
