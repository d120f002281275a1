"""The filmstrip of a track pick: the track's box, cut out of each frame the queue chose to show.

A "delete all similar" pick shows several tracks in one row, each at its two ends: the person
accepts (K) the crop of any that is on a wanted object and deletes the rest with one key.

A track pick asks one question about a whole track ("is this a real object, and the same one
throughout?"). Answering it from the frames one by one means stepping to each and finding the
box; side by side, the crops answer it in a glance, as in CVAT's track review or DIVE's track
thumbnails. A crop is clickable: it opens its frame with the track selected, so "wrong from
here" (Ctrl+Delete) acts at that crop. The buttons are the window's own actions (accept all
crops, delete the track, wrong from the selected crop), so their keys and menus agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from PyQt6.QtCore import QSize, Qt, pyqtSignal
from PyQt6.QtGui import QAction, QIcon, QImage, QPixmap
from PyQt6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QToolButton, QVBoxLayout, QWidget

from ..datamodel import XYWH

THUMB_HEIGHT = 112   # px: a person's face or a car's outline is recognisable at this size
CONTEXT = 0.25       # of the box's size on each side: enough surroundings to see what it is on


def crop(image: np.ndarray, xywh: XYWH, height: int = THUMB_HEIGHT, context: float = CONTEXT) -> np.ndarray:
    """The box with some surroundings, cut from a BGR frame and scaled to `height` (RGB).

    Parts outside the frame stay black, so a box at the border looks like one."""
    x, y, w, h = xywh
    x0, y0 = int(round(x - context * w)), int(round(y - context * h))
    x1, y1 = int(round(x + w + context * w)), int(round(y + h + context * h))
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
    out = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
    H, W = image.shape[:2]
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    bx, by = int(round(x)) - x0, int(round(y)) - y0
    cv2.rectangle(out, (bx, by), (bx + int(round(w)), by + int(round(h))), (0, 200, 255), max(1, (y1 - y0) // 80))
    scale = height / out.shape[0]
    out = cv2.resize(out, (max(1, round(out.shape[1] * scale)), height), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def _pixmap(rgb: np.ndarray) -> QPixmap:
    rgb = np.ascontiguousarray(rgb)
    image = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())


class Filmstrip(QFrame):
    """One row of crops and the answers that fit the pick; hidden while the queue item is not a
    track pick (or a group of similar tracks)."""

    cropChosen = pyqtSignal(int, int)   # the frame and track of a clicked crop

    def __init__(self, answers: Sequence[tuple[str, str, QAction]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filmstrip")
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.row = QHBoxLayout()
        self.row.setSpacing(6)
        self.buttons: dict[tuple[int, int], QToolButton] = {}   # (frame, track) -> its crop
        answer_row = QHBoxLayout()
        self.answers: dict[str, QToolButton] = {}   # action name -> its button
        for name, label, action in answers:
            keys = [k.toString() for k in action.shortcuts()]
            button = QToolButton()
            button.setText(f"{label}  ({keys[0]})" if keys else label)
            button.setToolTip(f"{action.text()} ({' / '.join(keys)})" if keys else action.text())
            button.clicked.connect(action.trigger)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            answer_row.addWidget(button)
            self.answers[name] = button
        answer_row.addStretch(1)
        # the crops scroll sideways: a pick of many tracks must not widen the window past the screen
        strip = QWidget()
        strip.setLayout(self.row)
        self.row.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidget(strip)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedHeight(THUMB_HEIGHT + 64)   # a crop, its two-line caption and a scroll bar
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.title)
        layout.addWidget(scroll)
        layout.addLayout(answer_row)
        self.hide()

    def show_crops(self, title: str, crops: Sequence[tuple[int, int, np.ndarray, str]],
                   answers: Sequence[str]) -> None:
        """`crops`: (frame, track, RGB thumbnail, caption) in the order shown; `answers`: the
        names of the answers that fit this kind of pick (the other buttons are hidden)."""
        self.clear()
        self.title.setText(title)
        for name, button in self.answers.items():
            button.setVisible(name in answers)
        for frame, track, rgb, caption in crops:
            button = QToolButton()
            button.setIcon(QIcon(_pixmap(rgb)))
            button.setIconSize(QSize(rgb.shape[1], rgb.shape[0]))
            button.setText(caption)
            button.setToolTip(f"open frame {frame}")
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _checked=False, f=frame, t=track: self.cropChosen.emit(f, t))
            self.row.addWidget(button)
            self.buttons[frame, track] = button
        self.row.addStretch(1)
        self.show()

    def mark(self, frame: int, track: int | None = None) -> None:
        """The crop of the frame on screen (of `track`, if given) is the selected one (none when
        the frame has none)."""
        for (f, t), button in self.buttons.items():
            button.setChecked(f == frame and track in (None, t))

    def clear(self) -> None:
        while self.row.count():
            item = self.row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.buttons = {}
        self.hide()
