"""Formats on the full PETS09-S2L1 ground truth: fidelity and cost of import and every export.

Imports the MOTChallenge gt into a project, exports COCO, MOT and YOLO, and prints for each the
wall time and what it kept, next to the source file's own figures in the same run: rows and
ignore rows of the source gt against the re-exported gt (and whether they are identical after
sorting), and COCOeval AP of the COCO export against itself (1.0 when every box and image id
lines up).

    python benchmarks/bench_formats.py [SEQUENCE_FOLDER]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from vidlabel.formats import export_projects, import_annotations  # noqa: E402

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "PETS09-S2L1"


def coco_self_ap(path: Path) -> tuple[float, float]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        anns = gt.loadAnns(gt.getAnnIds(iscrowd=False))
        dt = gt.loadRes([{"image_id": a["image_id"], "category_id": a["category_id"],
                          "bbox": a["bbox"], "score": 1.0} for a in anns])
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate(), ev.accumulate(), ev.summarize()
    return float(ev.stats[0]), float(ev.stats[1])


def sorted_rows(text: str) -> list[tuple[float, ...]]:
    return sorted(tuple(map(float, line.split(","))) for line in text.splitlines() if line.strip())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sequence", nargs="?", type=Path, default=DEFAULT)
    args = parser.parse_args()
    video, gt = args.sequence / "video.mp4", args.sequence / "gt" / "gt.txt"
    source = sorted_rows(gt.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        t = time.perf_counter()
        project = import_annotations(video, gt, d / "p.vlp", "mot")
        t_import = time.perf_counter() - t
        boxes, regions = len(project.boxes()), len(project.ignore_regions())
        timings = {}
        for fmt, out in (("coco", d / "p.json"), ("mot", d / "seq"), ("yolo", d / "yolo")):
            t = time.perf_counter()
            export_projects([project], fmt, out)
            timings[fmt] = time.perf_counter() - t
        project.close()
        exported = sorted_rows((d / "seq" / "gt" / "gt.txt").read_text())
        ap, ap50 = coco_self_ap(d / "p.json")
        coco = json.loads((d / "p.json").read_text())
        yolo_images = sum(1 for _ in (d / "yolo" / "images").rglob("*.jpg"))
        val = sum(1 for _ in (d / "yolo" / "images" / "val").glob("*.jpg"))
    print(f"sequence {args.sequence.name}: {len(source)} gt rows, "
          f"{sum(r[6] == 0 for r in source)} with conf 0")
    print(f"{'step':<12} {'seconds':>8}  result")
    print(f"{'import mot':<12} {t_import:8.2f}  {boxes} boxes, {regions} ignore regions")
    print(f"{'export coco':<12} {timings['coco']:8.2f}  {len(coco['images'])} images, "
          f"{len(coco['annotations'])} annotations; self AP {ap:.3f}, AP50 {ap50:.3f} (ideal 1.000)")
    print(f"{'export mot':<12} {timings['mot']:8.2f}  {len(exported)} rows "
          f"(source {len(source)}); identical to source after sorting: {exported == source}")
    print(f"{'export yolo':<12} {timings['yolo']:8.2f}  {yolo_images} images ({val} val), "
          "JPEG frames decoded from the video")


if __name__ == "__main__":
    main()
