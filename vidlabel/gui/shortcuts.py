"""Keyboard shortcuts: package defaults overridden by the user's YAML file.

Annotators live on the keyboard and bring habits from other tools, so every key is rebindable
without code (labelme's `shortcuts:` map is the model). The defaults are `shortcuts.yaml` next to
this module; the user's file is `$XDG_CONFIG_HOME/vidlabel/shortcuts.yaml` (by default
`~/.config/vidlabel/shortcuts.yaml`) and only needs the keys it changes. A bad file is an error
naming the file and the entry, never a silently dead key.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from PyQt6.QtGui import QKeySequence

from ..errors import VidlabelError

DEFAULTS = Path(__file__).with_name("shortcuts.yaml")

# Every action the window offers, in the order the help overlay lists them, with what it does.
DESCRIPTIONS: dict[str, str] = {
    "next_frame": "next frame",
    "previous_frame": "previous frame",
    "forward_10": "10 frames forward",
    "back_10": "10 frames back",
    "play_pause": "play / pause",
    "next_in_queue": "next frame in the review queue",
    "previous_in_queue": "back to where the last queue jump came from",
    "accept_frame_and_next": "accept this frame, go to the next queue item",
    "accept_box": "accept the selected box as it is (in a filmstrip of similar tracks: keep its track)",
    "delete_box": "delete the selected box",
    "delete_track": "delete the selected track (all its machine boxes)",
    "wrong_from_here": "the selected track is wrong from here: delete its machine boxes from this frame on",
    "accept_track_pick": "accept every crop of the track pick in the filmstrip",
    "narrow_track_pick": "the open crop is past where the track changed: show the frame halfway back",
    "delete_similar": "delete every track of the similar-tracks filmstrip whose crops nobody accepted",
    "undo": "undo",
    "redo": "redo",
    "repropagate": "re-propagate the selected track from this frame",
    "interpolate": "interpolate the selected track between its keyframes around here",
    "set_track_id": "give the selected box another track id",
    "merge_tracks": "merge the selected track into another track",
    "split_track": "split the selected track here (new id from this frame on)",
    "move_tail": "the selected track's boxes from here on belong to another track (asks which)",
    "mark_outside": "the selected track leaves view here",
    "toggle_occluded": "toggle occluded on the selected box",
    "deselect": "close the key overlay, else clear the selection",
    "go_to_frame": "go to a frame by number",
    "toggle_labels": "hide / show box labels (the selected box keeps its)",
    "faster": "play faster",
    "slower": "play slower",
    **{f"nudge_{d}{big}": f"move the selected box {'10 pixels' if big else '1 pixel'} {d}"
       for d in ("left", "right", "up", "down") for big in ("", "_10")},
    "next_box": "select the next box on this frame",
    "fit_view": "fit the frame to the window",
    "zoom_in": "zoom in",
    "zoom_out": "zoom out",
    "help": "show / hide this help",
    **{f"class_{i}": f"class {i} (for new boxes and the selected track)" for i in range(1, 10)},
}


def user_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "vidlabel" / "shortcuts.yaml"


def _read(path: Path) -> dict[str, list[str]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise VidlabelError(f"cannot read shortcuts: {exc}", str(path)) from None
    table = data.get("shortcuts", {}) if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise VidlabelError("shortcuts file needs a `shortcuts:` mapping of action: [keys]", str(path))
    out: dict[str, list[str]] = {}
    for action, keys in table.items():
        if action not in DESCRIPTIONS:
            raise VidlabelError(f"unknown action {action!r}; known: {', '.join(DESCRIPTIONS)}",
                                f"{path}: shortcuts.{action}")
        keys = [keys] if isinstance(keys, (str, int)) else keys
        if not isinstance(keys, list):
            raise VidlabelError("keys must be a list such as [Ctrl+Z]", f"{path}: shortcuts.{action}")
        for key in keys:
            if QKeySequence(str(key)).isEmpty():
                raise VidlabelError(f"not a key: {key!r}", f"{path}: shortcuts.{action}")
        out[action] = [str(k) for k in keys]
    return out


def load(path: Path | None = None) -> dict[str, list[str]]:
    """Action name -> key sequences: the defaults, with the user's file laid over them."""
    keys = _read(DEFAULTS)
    path = user_file() if path is None else path
    if path.is_file():
        mine = _read(path)
        # A key the person gave one action leaves the default it had elsewhere: two actions on
        # one key would make Qt fire neither.
        taken = {QKeySequence(k).toString() for ks in mine.values() for k in ks}
        keys = {a: [k for k in ks if QKeySequence(k).toString() not in taken] for a, ks in keys.items()}
        keys.update(mine)
    return keys
