"""`vidlabel doctor`: what this machine offers vidlabel, so a wrong install is seen at once.

OpenCV is the usual trap: `opencv-python` and `opencv-contrib-python(-headless)` install the same
`cv2` folder and the last one installed wins; only the contrib build has CSRT and KCF.
"""

from __future__ import annotations

import argparse
import platform
import sys
from importlib import metadata
from pathlib import Path

from .. import weights


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="report Python, torch, OpenCV build, trackers, weights, GPU",
                       description=("Report what this machine offers vidlabel: Python, torch and the "
                                    "GPU, the OpenCV build and which single-object trackers it has, the"
                                    " detector and NanoTrack weights found and the folders searched. "
                                    "Run it first when something does not work."))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows = report()
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def report() -> list[tuple[str, str]]:
    """Rows of (what, finding) for the doctor command."""
    import cv2
    import torch

    from ..propagation.trackers import available_trackers

    rows = [
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("vidlabel", _version("vidlabel")),
        ("torch", f"{torch.__version__}"),
        ("gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none: CPU is used"),
        ("ultralytics", _version("ultralytics-opencv-headless") if _version("ultralytics") == "not installed"
         else _version("ultralytics")),
        ("openvino", _version("openvino")),
        ("opencv", f"{cv2.__version__} ("
         + ", ".join(f"{d} {_version(d)}" for d in ("opencv-contrib-python-headless", "opencv-python-headless",
                                                    "opencv-python", "opencv-contrib-python")
                     if _version(d) != "not installed") + ")"),
        ("trackers", ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in available_trackers().items())),
        ("pyav", _version("av")),
        ("pyqt6", _version("PyQt6")),
    ]
    try:
        detector = weights.resolve_detector()
        rows.append(("detector", detector if Path(detector).exists() else f"{detector} (downloaded on first use)"))
    except Exception as exc:  # the doctor reports problems instead of failing on them
        rows.append(("detector", f"NOT FOUND: {exc}"))
    nano = weights.find_nanotrack()
    rows.append(("nanotrack", nano[0].rsplit("/", 1)[0] if nano else "not found"))
    rows.append(("model search", "; ".join(str(d) for d in weights.search_dirs())))
    return rows
