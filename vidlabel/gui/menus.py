"""The window's actions, menus and toolbar, built from the shortcut table.

Every command is one window-wide QAction named as in `shortcuts.DESCRIPTIONS` and bound to the
person's keys, so a key works whichever widget has the focus. Menu entries are those same actions
and toolbar buttons trigger them, so a rebound key, its menu entry and its button never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QWidget

from .shortcuts import DESCRIPTIONS

if TYPE_CHECKING:
    from .window import MainWindow

EDIT_MENU = ("undo", "redo", "accept_frame_and_next", "accept_box", "delete_box", "delete_track",
             "wrong_from_here", "accept_track_pick", "narrow_track_pick", "delete_similar", "set_track_id", "merge_tracks", "split_track", "move_tail", "mark_outside", "toggle_occluded")
VIEW_MENU = ("play_pause", "next_in_queue", "previous_in_queue", "go_to_frame", "toggle_labels", "faster", "slower", "fit_view", "zoom_in", "zoom_out", "help")
TOOLBAR = (("previous_frame", "◀"), ("play_pause", "▶  Play"), ("next_frame", "▶"),
           (None, None), ("accept_frame_and_next", "✓  Accept frame"),
           ("next_in_queue", "Next in queue"), (None, None), ("undo", "Undo"),
           ("redo", "Redo"), (None, None), ("help", "Keys"))


def bind_actions(window: QWidget, handlers: dict[str, Callable[[], None]],
                 keys: dict[str, list[str]]) -> dict[str, QAction]:
    """One action per handler, on `window`, with the keys bound to its name."""
    actions = {}
    for name, handler in handlers.items():
        action = QAction(DESCRIPTIONS[name].capitalize(), window)
        action.setShortcuts([QKeySequence(k) for k in keys.get(name, [])])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(handler)
        window.addAction(action)
        actions[name] = action
    return actions


def build_menus(window: MainWindow, actions: dict[str, QAction], keys: dict[str, list[str]]) -> QAction:
    """The menu bar and the toolbar; returns the toolbar's play button (its text follows playing)."""
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    open_action = file_menu.addAction("Open video or project…")
    open_action.setShortcut(QKeySequence.StandardKey.Open)
    open_action.triggered.connect(window.openRequested.emit)
    file_menu.addAction("Quit", QKeySequence.StandardKey.Quit, window.close)
    edit_menu = bar.addMenu("&Edit")
    for name in EDIT_MENU:
        edit_menu.addAction(actions[name])
    view_menu = bar.addMenu("&View")
    for name in VIEW_MENU:
        view_menu.addAction(actions[name])
    jobs_menu = bar.addMenu("&Jobs")
    jobs_menu.addAction("Pre-label with a detector…", window.show_prelabel)
    jobs_menu.addAction("Export (COCO, MOT, YOLO)…", window.show_export)
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(actions["help"])

    tools = window.addToolBar("Main")
    tools.setObjectName("Main")
    tools.setMovable(False)
    tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    buttons = {}
    for name, text in TOOLBAR:
        if name is None:
            tools.addSeparator()
            continue
        button = QAction(text, window)
        button.setToolTip(f"{DESCRIPTIONS[name]} ({' / '.join(keys.get(name, []))})")
        button.triggered.connect(actions[name].trigger)
        tools.addAction(button)
        buttons[name] = button
    for widget in tools.findChildren(QWidget):
        widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return buttons["play_pause"]
