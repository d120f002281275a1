"""Where detector and tracker weights are found: one resolution order for app, CLI, tests, benchmarks.

Order: the explicit path; `$VIDLABEL_MODEL`; the checkout's `models/` (and `./models/` of the
working directory); `../shared/models/` beside the checkout; finally an Ultralytics model name
(`yolo11n.pt`), which Ultralytics downloads where a network exists. `VIDLABEL_OFFLINE=1` forbids
that last step, so a missing model is an immediate error naming every place searched, never a hang.

Ultralytics also pip-installs missing packages at run time; `quiet_ultralytics()` switches that off
before it is imported anywhere in vidlabel.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ModelNotFoundError

REPO_ROOT = Path(__file__).resolve().parent.parent

# Preferred default detectors, best first: plain names a user drops in models/, then the verified
# INT8 OpenVINO exports that ship in ../shared/models/.
DEFAULT_DETECTORS = ("yolo11n.pt", "yolo11n.onnx", "yolo11n_openvino_model",
                     "yolo11n_int8_openvino_model", "yolov8n.pt", "yolov8n_int8_openvino_model")
NANOTRACK_FILES = ("nanotrack_backbone_sim.onnx", "nanotrack_head_sim.onnx")
VITTRACK_FILE = "object_tracking_vittrack_2023sep.onnx"  # the name OpenCV's model zoo gives it


def quiet_ultralytics() -> None:
    """No run-time pip installs, no telemetry, and no network at all when offline."""
    os.environ.setdefault("YOLO_AUTOINSTALL", "False")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    if offline():
        os.environ["YOLO_OFFLINE"] = "1"


def offline() -> bool:
    return os.environ.get("VIDLABEL_OFFLINE", "").lower() in ("1", "true", "yes")


def search_dirs() -> list[Path]:
    """The folders searched after the explicit path and the environment variable."""
    dirs = [REPO_ROOT / "models", Path.cwd() / "models", REPO_ROOT.parent / "shared" / "models",
            Path.cwd().parent / "shared" / "models"]
    unique: list[Path] = []
    for d in dirs:
        d = d.resolve()
        if d not in unique:
            unique.append(d)
    return unique


def _is_model(path: Path) -> bool:
    return path.is_file() or (path.is_dir() and any(path.glob("*.xml")))


def resolve_detector(name: str | None = None) -> str:
    """A path (or, online, an Ultralytics name) for the detector; `ModelNotFoundError` otherwise."""
    looked: list[str] = []
    if name:
        p = Path(name).expanduser()
        looked.append(str(p))
        if _is_model(p):
            return str(p)
    env = os.environ.get("VIDLABEL_MODEL")
    if env and not name:
        looked.append(f"$VIDLABEL_MODEL={env}")
        if _is_model(Path(env).expanduser()):
            return str(Path(env).expanduser())
    candidates = [Path(name).name] if name else list(DEFAULT_DETECTORS)
    for d in search_dirs():
        looked.append(str(d))
        for c in candidates:
            if _is_model(d / c):
                return str(d / c)
    if name and not offline() and os.sep not in name and name.endswith(".pt"):
        return name  # an Ultralytics asset name: Ultralytics downloads it (fails fast offline)
    raise ModelNotFoundError(
        f"no detector weights {'named ' + repr(name) if name else '(' + ', '.join(DEFAULT_DETECTORS) + ')'}"
        f" found; looked in: {'; '.join(looked)}",
        "pass --model PATH or set VIDLABEL_MODEL")


def find_nanotrack() -> tuple[str, str] | None:
    """The NanoTrack v2 ONNX pair for `cv2.TrackerNano`, if present in a model folder."""
    for d in search_dirs():
        files = [d / f for f in NANOTRACK_FILES]
        if all(f.is_file() for f in files):
            return str(files[0]), str(files[1])
    return None


def find_vittrack() -> str | None:
    """The VitTrack ONNX model for `cv2.TrackerVit`, if present in a model folder."""
    for d in search_dirs():
        if (d / VITTRACK_FILE).is_file():
            return str(d / VITTRACK_FILE)
    return None
