"""Where detector and tracker weights are found: one resolution order for app, CLI, tests, benchmarks.

A model file is code: Ultralytics `.pt` checkpoints are pickles, and loading one runs what it
holds. So vidlabel loads only a model somebody chose, from documented places, never from
wherever the command happens to run:

1. the path given (`--model PATH`) or `$VIDLABEL_MODEL`: it must exist, or the command stops
   naming it (a bare name such as `yolo11n.pt` is also looked up in the folders below);
2. the checkout's `models/` folder, then `../shared/models/` beside the checkout;
3. online only, the Ultralytics default `yolo11n.pt`, downloaded once into `models/`.

`VIDLABEL_OFFLINE=1` forbids step 3, so a missing model is an immediate error naming the file and
the folder to put it in, never a hang. `.pt` files load with Ultralytics' restricted loading
(`ULTRALYTICS_SAFE_LOAD`: `torch.load(weights_only=True)` and an allow-list of model classes).

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
    """No run-time pip installs, no telemetry, restricted `.pt` loading, no network when offline."""
    os.environ.setdefault("YOLO_AUTOINSTALL", "False")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    os.environ.setdefault("ULTRALYTICS_SAFE_LOAD", "1")
    if offline():
        os.environ["YOLO_OFFLINE"] = "1"


def offline() -> bool:
    return os.environ.get("VIDLABEL_OFFLINE", "").lower() in ("1", "true", "yes")


MODELS_DIR = REPO_ROOT / "models"
# The model an online machine with nothing else fetches (Ultralytics' own default detector).
DOWNLOADABLE_DEFAULT = "yolo11n.pt"


def search_dirs() -> list[Path]:
    """The documented model folders, searched after an explicit path or `$VIDLABEL_MODEL`."""
    return list(dict.fromkeys(d.resolve() for d in (MODELS_DIR, REPO_ROOT.parent / "shared" / "models")))


def _is_model(path: Path) -> bool:
    return path.is_file() or (path.is_dir() and any(path.glob("*.xml")))


def _chosen(name: str, origin: str) -> str:
    """The model a person named: an existing path, or a bare file name found in a model folder."""
    path = Path(name).expanduser()
    if _is_model(path):
        return str(path)
    if path.name == name:
        for d in search_dirs():
            if _is_model(d / name):
                return str(d / name)
        if name.endswith(".pt") and not offline():
            return str(MODELS_DIR / name)  # an Ultralytics asset name: downloaded there on load
    raise ModelNotFoundError(f"{origin} {name}: no such model file or OpenVINO folder",
                             f"model folders: {'; '.join(map(str, search_dirs()))}")


def resolve_detector(name: str | None = None) -> str:
    """A path for the detector, possibly one Ultralytics is yet to download; else `ModelNotFoundError`."""
    if name:
        return _chosen(name, "--model")
    if os.environ.get("VIDLABEL_MODEL"):
        return _chosen(os.environ["VIDLABEL_MODEL"], "$VIDLABEL_MODEL")
    for d in search_dirs():
        for candidate in DEFAULT_DETECTORS:
            if _is_model(d / candidate):
                return str(d / candidate)
    if not offline():
        return str(MODELS_DIR / DOWNLOADABLE_DEFAULT)
    raise ModelNotFoundError(missing_default_message())


def missing_default_message() -> str:
    """What to do when no detector is found and none can be downloaded: one line, file and place."""
    return (f"no detector weights: put {DOWNLOADABLE_DEFAULT} (from github.com/ultralytics/assets/"
            f"releases) or an OpenVINO export such as yolo11n_int8_openvino_model/ into {MODELS_DIR}/, "
            f"or pass --model PATH")


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
