"""COCO with tracks: vidlabel's own fields, COCO-VID/TAO video keys, and CVAT's track attributes.

One image per exported frame (empty frames too, so a detector trained on the export also learns
"nothing here"), `frame_index` (0-based, TAO) and `frame_id` (COCO-VID) on each image, a `videos`
list, and on each annotation `track_id`, `score`, vidlabel's `provenance` and `verified`. CVAT
re-imports boxes as tracks only when `track_id` and `keyframe` sit inside `attributes` with
`source` one of manual/semi-auto/auto, so the same facts are written there too. Ids start at 1
(pycocotools never counts a match to annotation id 0). Ignore regions are `iscrowd: 1`
annotations, which COCOeval ignores (docs/adr/0004). Outside boxes are not annotations; they are
kept in a top-level `vidlabel_outside` list that pycocotools does not read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from ..datamodel import Box, IgnoreRegion, Source
from ..errors import FormatError
from .common import (ClassMap, ExportOptions, ExportVideo, ImportOptions, ImportTarget,
                     ParsedAnnotations, atomic_folder, atomic_write_text, box_geometry,
                     check_unique_boxes, common_classes, finite_number, frame_file_name, integer,
                     score, source_for_import, write_frame_images)
from .registry import exporter, importer


def cvat_source(box: Box) -> str:
    """CVAT's `source`: a person's geometry is manual, a machine's geometry a person vouched for
    is semi-auto, an unreviewed machine guess is auto."""
    if box.source is Source.HUMAN:
        return "manual"
    return "semi-auto" if box.verified else "auto"


def build_dataset(videos: Sequence[ExportVideo], options: ExportOptions) -> dict:
    """The whole COCO dictionary, ids in export order starting at 1."""
    names = common_classes(videos)
    data: dict = {
        "info": {"description": "exported by vidlabel", "version": __version__},
        "licenses": [],
        "categories": [{"id": i + 1, "name": n, "supercategory": ""} for i, n in enumerate(names)],
        "videos": [], "images": [], "annotations": [], "vidlabel_outside": [],
    }
    for video_id, video in enumerate(videos, 1):
        data["videos"].append({"id": video_id, "name": video.name, "width": video.width,
                               "height": video.height, "fps": video.fps,
                               "frame_count": video.frame_count})
        outside = _outside_boxes(video, options)
        for frame in video.frames:
            image_id = len(data["images"]) + 1
            data["images"].append({
                "id": image_id, "file_name": frame_file_name(video.stem, frame.index),
                "width": video.width, "height": video.height, "video_id": video_id,
                "frame_index": frame.index, "frame_id": frame.index, "verified": frame.verified})
            anns = data["annotations"]
            for box in frame.boxes:
                anns.append(_box_annotation(len(anns) + 1, image_id, box))
            for region in frame.regions:
                anns.append(_region_annotation(len(anns) + 1, image_id, region))
            data["vidlabel_outside"].extend(
                {"image_id": image_id, "track_id": b.track_id, "category_id": b.class_id + 1,
                 "bbox": [b.x, b.y, b.w, b.h], "score": b.confidence, "provenance": b.source.value,
                 "verified": b.verified, "occluded": b.occluded}
                for b in outside.get(frame.index, []))
    return data


def _outside_boxes(video: ExportVideo, options: ExportOptions) -> dict[int, list[Box]]:
    """A person's "this track ends here" marks, so that a round trip keeps them."""
    by_frame: dict[int, list[Box]] = {}
    for box in video.project.boxes(candidates=options.include_candidates):
        if box.outside and (box.verified or not options.verified_only):
            by_frame.setdefault(box.frame, []).append(box)
    return by_frame


def _box_annotation(ann_id: int, image_id: int, b: Box) -> dict:
    return {
        "id": ann_id, "image_id": image_id, "category_id": b.class_id + 1,
        "bbox": [b.x, b.y, b.w, b.h], "area": b.w * b.h, "iscrowd": 0, "segmentation": [],
        "track_id": b.track_id, "score": b.confidence, "provenance": b.source.value,
        "verified": b.verified, "occluded": b.occluded,
        "attributes": {"track_id": b.track_id, "keyframe": b.source is not Source.INTERPOLATED,
                       "occluded": b.occluded, "source": cvat_source(b)},
    }


def _region_annotation(ann_id: int, image_id: int, r: IgnoreRegion) -> dict:
    ann = {"id": ann_id, "image_id": image_id, "category_id": r.class_id + 1,
           "bbox": [r.x, r.y, r.w, r.h], "area": r.w * r.h, "iscrowd": 1, "segmentation": [],
           "occluded": r.occluded}
    if r.track_id is not None:
        ann["track_id"] = r.track_id
    return ann


@exporter("coco")
def export_coco(videos: Sequence[ExportVideo], out: Path, options: ExportOptions) -> None:
    """Write the JSON last, so it never names frame images that were not written."""
    data = build_dataset(videos, options)
    if options.write_frames is not None:
        with atomic_folder(options.write_frames, options.overwrite) as folder:
            for video in videos:
                write_frame_images(video, lambda i, v=video: folder / frame_file_name(v.stem, i))
    atomic_write_text(out, json.dumps(data, allow_nan=False))


# ---------------------------------------------------------------------- import
def _load_json(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FormatError(f"cannot read annotation file: {exc.strerror}", str(path)) from None
    except UnicodeDecodeError:
        raise FormatError("annotation file is not UTF-8 text", str(path)) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"invalid JSON: {exc.msg}", f"{path}:{exc.lineno}:{exc.colno}") from None
    if not isinstance(data, dict):
        raise FormatError("a COCO file must be a JSON object", str(path))
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise FormatError(f"missing or malformed {key!r} list (COCO needs images, "
                              "annotations and categories)", str(path))
    return data


def _video_id(data: dict, target: ImportTarget, path: Path) -> int | None:
    """Which of the file's videos is ours: the only one, or the one named like our video."""
    videos = data.get("videos") or []
    if len(videos) <= 1:
        return videos[0].get("id") if videos and isinstance(videos[0], dict) else None
    stem = Path(target.name).stem
    matches = [v.get("id") for v in videos
               if isinstance(v, dict) and Path(str(v.get("name", ""))).stem == stem]
    if len(matches) != 1:
        names = ", ".join(str(v.get("name")) for v in videos if isinstance(v, dict))
        raise FormatError(f"the file holds several videos ({names}) and {len(matches)} of them "
                          f"are named like {target.name!r}", str(path))
    return matches[0]


def _frame_of(image: dict, where: str) -> int:
    """frame_index (TAO) or frame_id (COCO-VID), else the number ending the file name (CVAT's
    video tasks name frames `frame_000123`, 0-based)."""
    for key in ("frame_index", "frame_id"):
        if key in image:
            return integer(image[key], key, where)
    match = re.search(r"(\d+)\D*$", Path(str(image.get("file_name", ""))).stem)
    if match is None:
        raise FormatError("image has no frame_index, frame_id or frame number in its file_name", where)
    return int(match.group(1))


def _track_id(ann: dict, where: str) -> int | None:
    attrs = ann.get("attributes") if isinstance(ann.get("attributes"), dict) else {}
    value = ann.get("track_id", attrs.get("track_id"))
    if value is None:
        return None
    track = integer(value, "track_id", where)
    if track < 0:
        raise FormatError(f"track_id must be >= 0, got {track}", where)
    return track


def _source(ann: dict, as_prelabels: bool, where: str) -> Source:
    """vidlabel's `provenance`, else CVAT's attributes, else who is importing."""
    if "provenance" in ann:
        try:
            source = Source(ann["provenance"])
        except ValueError:
            raise FormatError(f"unknown provenance {ann['provenance']!r}", where) from None
    else:
        attrs = ann.get("attributes") if isinstance(ann.get("attributes"), dict) else {}
        if attrs.get("keyframe") is False:
            source = Source.INTERPOLATED
        elif attrs.get("source") in ("auto", "semi-auto"):
            source = Source.DETECTOR
        else:
            source = Source.DETECTOR if as_prelabels else Source.HUMAN
    return source_for_import(source, as_prelabels)


def _flag(ann: dict, key: str, default: bool, where: str) -> bool:
    attrs = ann.get("attributes") if isinstance(ann.get("attributes"), dict) else {}
    value = ann.get(key, attrs.get(key, default))
    if not isinstance(value, (bool, int)) or value not in (0, 1):
        raise FormatError(f"{key} must be true or false, got {value!r}", where)
    return bool(value)


class _Categories:
    """category_id -> project class, by name (docs/adr/0003)."""

    def __init__(self, data: dict, classes: ClassMap, path: Path) -> None:
        self.names: dict[int, str] = {}
        for i, cat in enumerate(data["categories"]):
            where = f"{path}: categories[{i}]"
            if not isinstance(cat, dict) or not isinstance(cat.get("name"), str):
                raise FormatError("category needs an id and a name", where)
            cat_id = integer(cat.get("id"), "category id", where)
            if cat_id in self.names:
                raise FormatError(f"category id {cat_id} appears twice", where)
            self.names[cat_id] = cat["name"]
        self.classes = classes
        if not classes.fixed:  # a new class list follows the file's category order
            for cat_id in sorted(self.names):
                classes.by_name(self.names[cat_id], f"{path}: category {cat_id}")

    def class_of(self, value: object, where: str) -> int:
        cat_id = integer(value, "category_id", where)
        if cat_id not in self.names:
            raise FormatError(f"unknown category_id {cat_id}", where)
        return self.classes.by_name(self.names[cat_id], where)


class _Reader:
    """Reads one COCO file into `ParsedAnnotations`, naming the entry of any error."""

    def __init__(self, path: Path, target: ImportTarget, classes: ClassMap,
                 options: ImportOptions) -> None:
        self.path, self.target, self.options = path, target, options
        self.data = _load_json(path)
        self.categories = _Categories(self.data, classes, path)
        self.video_id = _video_id(self.data, target, path)
        self.frames: dict[int, int] = {}      # image id -> frame
        self.other_images: set[int] = set()   # images of the file's other videos
        self.parsed = ParsedAnnotations(classes.names)
        self.wheres: list[str] = []           # the entry each parsed box came from

    def read_images(self) -> None:
        taken: set[int] = set()
        for i, image in enumerate(self.data["images"]):
            where = f"{self.path}: images[{i}]"
            if not isinstance(image, dict) or "id" not in image:
                raise FormatError("image needs an id", where)
            image_id = integer(image["id"], "image id", where)
            where = f"{where} (id {image_id})"
            if image_id in self.frames or image_id in self.other_images:
                raise FormatError(f"image id {image_id} appears twice", where)
            if self.video_id is not None and image.get("video_id", self.video_id) != self.video_id:
                self.other_images.add(image_id)
                continue
            frame = _frame_of(image, where)
            self.target.check_frame(frame, where)
            self._check_size(image, where)
            if frame in taken:
                raise FormatError(f"two images are frame {frame}", where)
            taken.add(frame)
            self.frames[image_id] = frame
            if image.get("verified") is True and not self.options.as_prelabels:
                self.parsed.verified_frames.append(frame)

    def _check_size(self, image: dict, where: str) -> None:
        t = self.target
        size = (image.get("width", t.width), image.get("height", t.height))
        if size != (t.width, t.height):
            raise FormatError(f"image is {size[0]}x{size[1]} but the video {t.name} is "
                              f"{t.width}x{t.height}; these annotations are for another video", where)

    def frame_of(self, entry: dict, where: str) -> int | None:
        """The frame an entry's image_id names; None for an image of another video."""
        image_id = integer(entry.get("image_id"), "image_id", where)
        if image_id in self.other_images:
            return None
        if image_id not in self.frames:
            raise FormatError(f"unknown image_id {image_id}", where)
        return self.frames[image_id]

    def read_annotations(self) -> list[int]:
        """Boxes and ignore regions; returns the indices of boxes that still need a track id."""
        ann_ids: set[int] = set()
        pending: list[int] = []
        for i, ann in enumerate(self.data["annotations"]):
            where = f"{self.path}: annotations[{i}]"
            if not isinstance(ann, dict):
                raise FormatError("annotation must be an object", where)
            ann_id = integer(ann.get("id"), "annotation id", where)
            where = f"{where} (id {ann_id})"
            if ann_id in ann_ids:
                raise FormatError(f"annotation id {ann_id} appears twice (pycocotools would drop one)", where)
            ann_ids.add(ann_id)
            frame = self.frame_of(ann, where)
            if frame is None:
                continue
            class_id = self.categories.class_of(ann.get("category_id"), where)
            bbox = ann.get("bbox")
            if not isinstance(bbox, list) or len(bbox) != 4:
                raise FormatError(f"bbox must be [x, y, w, h], got {bbox!r}", where)
            x, y, w, h = box_geometry(bbox, where, (self.target.width, self.target.height))
            track = _track_id(ann, where)
            occluded = _flag(ann, "occluded", False, where)
            if _flag(ann, "iscrowd", False, where):
                self.parsed.regions.append(IgnoreRegion(frame, class_id, x, y, w, h, track, occluded))
                continue
            if track is None:
                pending.append(len(self.parsed.boxes))
            self.parsed.boxes.append(Box(
                frame, -1 if track is None else track, class_id, x, y, w, h,
                score(ann.get("score", 1.0), where),
                _source(ann, self.options.as_prelabels, where),
                _flag(ann, "verified", True, where) and not self.options.as_prelabels,
                occluded=occluded))
            self.wheres.append(where)
        return pending

    def read_outside_marks(self) -> None:
        """vidlabel's own `vidlabel_outside` list: a person's "this track ends here" marks."""
        marks = self.data.get("vidlabel_outside", [])
        if not isinstance(marks, list):
            raise FormatError("vidlabel_outside must be a list", str(self.path))
        for i, mark in enumerate(marks):
            where = f"{self.path}: vidlabel_outside[{i}]"
            if not isinstance(mark, dict):
                raise FormatError("outside mark must be an object", where)
            frame = self.frame_of(mark, where)
            if frame is None:
                continue
            track = _track_id(mark, where)
            if track is None:
                raise FormatError("outside mark needs a track_id", where)
            bbox = mark.get("bbox", [0, 0, 0, 0])
            if not isinstance(bbox, list) or len(bbox) != 4:
                raise FormatError(f"bbox must be [x, y, w, h], got {bbox!r}", where)
            x, y, w, h = (finite_number(v, k, where) for v, k in zip(bbox, ("x", "y", "width", "height")))
            self.parsed.boxes.append(Box(
                frame, track, self.categories.class_of(mark.get("category_id"), where), x, y, w, h,
                score(mark.get("score", 1.0), where),
                _source(mark, self.options.as_prelabels, where),
                _flag(mark, "verified", True, where) and not self.options.as_prelabels,
                outside=True, occluded=_flag(mark, "occluded", False, where)))
            self.wheres.append(where)


@importer("coco")
def import_coco(path: Path, target: ImportTarget, classes: ClassMap,
                options: ImportOptions) -> ParsedAnnotations:
    """Validate the whole file into boxes and regions; nothing is written here. A box without a
    track id (plain COCO) becomes a one-box track numbered after the file's largest id."""
    reader = _Reader(path, target, classes, options)
    reader.read_images()
    pending = reader.read_annotations()
    reader.read_outside_marks()
    boxes = reader.parsed.boxes
    next_id = max((b.track_id for b in boxes), default=0) + 1
    for k, index in enumerate(pending):
        boxes[index] = boxes[index].with_(track_id=next_id + k)
    check_unique_boxes(boxes, reader.wheres)
    return reader.parsed
