"""The timeline under the canvas: per-frame uncertainty, verified frames, queue picks, the cursor.

One glance says where the machine is unsure (the orange sparkline), what a person has already
checked (green ticks) and what the queue will show next (blue marks). Clicking or dragging seeks.
Scores are binned to one value per pixel column with numpy (the maximum, so a single bad frame
stays visible) and everything but the cursor is painted once into a cached pixmap, so a step
repaints only the cursor, however long the video.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap, QPolygonF
from PyQt6.QtWidgets import QSizePolicy, QWidget

from . import theme

MARGIN = 10
TICKS_H = 8
PICKS_H = 7


def column_max(values: np.ndarray, columns: int) -> np.ndarray:
    """The maximum of `values` in each of `columns` equal slices (NaN-free; empty slices give 0)."""
    if len(values) == 0 or columns <= 0:
        return np.zeros(max(columns, 0))
    edges = np.linspace(0, len(values), columns + 1).astype(int)
    edges[1:] = np.maximum(edges[1:], edges[:-1] + 1)
    edges = np.minimum(edges, len(values))
    starts = np.minimum(edges[:-1], len(values) - 1)
    return np.maximum.reduceat(values, starts)


def sparkline(values: np.ndarray, height: int) -> QImage:
    """One bar per pixel column, its height and colour both the uncertainty (calm frames stay
    dim, the frames that need a person stand out in orange-red), as one image built with numpy:
    drawing 700 bars one by one took 14 ms of every step to the next queue item, whose accept
    had just changed the scores."""
    rows = np.arange(height)[::-1, None]   # 0 at the bottom
    lit = rows < np.rint(values * height)[None, :]
    rgba = np.zeros((height, len(values), 4), np.uint8)
    rgba[..., :3] = theme.heat(values)[None, :, :]
    rgba[..., 3] = np.where(lit, 255, 0)
    image = QImage(rgba.data, len(values), height, 4 * len(values), QImage.Format.Format_RGBA8888)
    return image.copy()   # own its pixels: `rgba` goes away with this frame


def nice_step(n: int, most: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... frames that gives at most `most` labels for `n` frames."""
    step = 1
    while n / step > most:
        for factor in (2, 2.5, 2):
            step = int(step * factor)
            if n / step <= most:
                break
    return step


class Timeline(QWidget):
    seekRequested = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(84)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.frame_count = 1
        self.current = 0
        self.scores = np.zeros(1)
        self.verified = np.zeros(1, bool)
        self.picks: list[int] = []
        self._cache: QPixmap | None = None  # everything but the cursor

    def _changed(self) -> None:
        self._cache = None
        self.update()

    def resizeEvent(self, event) -> None:
        self._cache = None
        super().resizeEvent(event)

    def set_frame_count(self, n: int) -> None:
        self.frame_count = max(1, n)
        self.scores = np.zeros(self.frame_count)
        self.verified = np.zeros(self.frame_count, bool)
        self._changed()

    def set_scores(self, scores: np.ndarray) -> None:
        """Per-frame scores (one per frame), shown relative to the highest."""
        arr = np.zeros(self.frame_count)
        arr[:min(len(scores), self.frame_count)] = scores[:self.frame_count]
        top = arr.max() if arr.size else 0.0
        self.scores = arr / top if top > 0 else arr
        self._changed()

    def set_verified(self, verified: np.ndarray) -> None:
        """Per-frame verified flags (one per frame)."""
        self.verified = np.zeros(self.frame_count, bool)
        self.verified[:min(len(verified), self.frame_count)] = verified[:self.frame_count]
        self._changed()

    def set_picks(self, frames: list[int]) -> None:
        self.picks = list(frames)
        self._changed()

    def set_current(self, frame: int) -> None:
        self.current = frame
        self.update()

    # -- geometry -----------------------------------------------------------------------------
    def _track(self) -> QRectF:
        return QRectF(MARGIN, 18, self.width() - 2 * MARGIN, self.height() - 18 - 16)

    def x_of(self, frame: float) -> float:
        t = self._track()
        return t.left() + (frame + 0.5) / self.frame_count * t.width()

    def frame_at(self, x: float) -> int:
        t = self._track()
        return int(min(max((x - t.left()) / t.width() * self.frame_count, 0), self.frame_count - 1))

    # -- painting -----------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        ratio = self.devicePixelRatioF()
        if self._cache is None or self._cache.deviceIndependentSize().toSize() != self.size():
            self._cache = QPixmap(self.size() * ratio)
            self._cache.setDevicePixelRatio(ratio)
            self._paint_background(self._cache)
        p = QPainter(self)
        p.drawPixmap(0, 0, self._cache)
        t = self._track()
        self._paint_legend(p, t.left(), t.right())   # each time: it moves out of the cursor tag's way
        self._paint_cursor(p)
        p.end()

    def _paint_background(self, pixmap: QPixmap) -> None:
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), theme.PANEL)
        t = self._track()
        spark = QRectF(t.left(), t.top() + PICKS_H, t.width(), t.height() - PICKS_H - TICKS_H - 2)
        p.fillRect(spark, QColor("#232428"))
        columns = max(1, int(t.width()))
        col = column_max(self.scores, columns)
        if col.any():
            p.drawImage(spark, sparkline(col, max(1, round(spark.height() * pixmap.devicePixelRatio()))))
        # verified frames: a strip of green under the sparkline
        ticks = QRectF(t.left(), spark.bottom() + 2, t.width(), TICKS_H)
        p.fillRect(ticks, QColor("#232428"))
        if self.verified.any():
            vcol = column_max(self.verified.astype(float), columns)
            p.setPen(QPen(theme.VERIFIED, 1))
            for i in np.flatnonzero(vcol):
                x = ticks.left() + (i + 0.5) * ticks.width() / columns
                p.drawLine(QPointF(x, ticks.top()), QPointF(x, ticks.bottom()))
        # frame numbers under the strips, at a round step that leaves room for the labels
        p.setFont(QFont("DejaVu Sans", 7))
        p.setPen(theme.MUTED)
        step = nice_step(self.frame_count, max(1, int(t.width() // 70)))
        for f in range(0, self.frame_count, step):
            x = self.x_of(f)
            p.drawLine(QPointF(x, ticks.bottom() + 1), QPointF(x, ticks.bottom() + 4))
            p.drawText(QRectF(x - 30, ticks.bottom() + 3, 60, 12), Qt.AlignmentFlag.AlignCenter, str(f))
        # queue picks: small triangles above the sparkline
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.ACCENT)
        for f in self.picks:
            x = self.x_of(f)
            p.drawPolygon(QPolygonF([QPointF(x - 4, t.top()), QPointF(x + 4, t.top()),
                                     QPointF(x, t.top() + PICKS_H - 1)]))
        p.end()

    def _paint_legend(self, p: QPainter, left: float, right: float) -> None:
        """A key at the top right (top left while the current frame's tag is there): what each
        colour on the strips means."""
        p.setFont(QFont("DejaVu Sans", 7))
        items = ((theme.ACCENT, "next in queue"), (theme.VERIFIED, "verified"), (theme.UNCERTAIN, "uncertainty"))
        width = sum(p.fontMetrics().horizontalAdvance(text) + 26 for _, text in items)
        cursor = self.x_of(self.current)
        x = right - width if not right - width - 40 < cursor < right + 40 else left
        for colour, text in items:
            p.fillRect(QRectF(x, 6, 8, 7), colour)
            x += 12
            w = p.fontMetrics().horizontalAdvance(text)
            p.setPen(theme.MUTED)
            p.drawText(QRectF(x, 2, w, 14), Qt.AlignmentFlag.AlignVCenter, text)
            x += w + 14

    def _paint_cursor(self, p: QPainter) -> None:
        """The current frame: a line across the strips and its number on a tag above."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        t = self._track()
        x = self.x_of(self.current)
        p.setPen(QPen(QColor("#ffffff"), 2))
        p.drawLine(QPointF(x, t.top()), QPointF(x, t.bottom()))
        p.setFont(QFont("DejaVu Sans", 8, QFont.Weight.DemiBold))
        label = f"{self.current}"
        w = p.fontMetrics().horizontalAdvance(label) + 10
        lx = min(max(x - w / 2, 0), self.width() - w)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#ffffff"))
        p.drawRoundedRect(QRectF(lx, 2, w, 14), 4, 4)
        p.setPen(QColor("#111214"))
        p.drawText(QRectF(lx, 2, w, 14), Qt.AlignmentFlag.AlignCenter, label)

    # -- mouse --------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.seekRequested.emit(self.frame_at(event.position().x()))

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.seekRequested.emit(self.frame_at(event.position().x()))
