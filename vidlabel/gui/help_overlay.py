"""The key overlay: every shortcut as it is bound right now (after the user's remapping)."""

from __future__ import annotations

from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QFont, QFontMetricsF, QPainter
from PyQt6.QtWidgets import QWidget

from . import theme
from .shortcuts import DESCRIPTIONS

MOUSE_HELP = [
    ("drag on the frame", "draw a box (Ctrl+drag over a box)"),
    ("click / drag a box", "select / move it; handles resize"),
    ("wheel", "zoom around the cursor"),
    ("middle or right drag", "pan"),
]


class HelpOverlay(QWidget):
    """Drawn over the canvas; any click or the help key hides it."""

    def __init__(self, keys: dict[str, list[str]], parent: QWidget) -> None:
        super().__init__(parent)
        self.rows = [(" / ".join(keys.get(a, [])) or "(unbound)", d) for a, d in DESCRIPTIONS.items()
                     if not a.startswith("class_")]
        self.rows.append(("1 … 9", "set class"))
        self.rows += MOUSE_HELP
        self.hide()

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
        else:
            self.setGeometry(self.parentWidget().rect())
            self.raise_()
            self.show()

    def mousePressEvent(self, event) -> None:
        self.hide()

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(10, 11, 13, 200))
        title = QFont("DejaVu Sans", 13, QFont.Weight.Bold)
        key_font = QFont("DejaVu Sans Mono", 9, QFont.Weight.Bold)
        text_font = QFont("DejaVu Sans", 9)
        row_h = 21
        key_w = QFontMetricsF(key_font).horizontalAdvance(max((k for k, _ in self.rows), key=len)) + 16
        text_w = max(QFontMetricsF(text_font).horizontalAdvance(d) for _, d in self.rows) + 8
        # one column when it fits the height, else two side by side
        columns = 1 if len(self.rows) * row_h + 90 <= self.height() else 2
        per_column = -(-len(self.rows) // columns)
        col_w = key_w + text_w + 24
        width = min(self.width() - 40, columns * col_w)
        height = per_column * row_h + 50
        left = (self.width() - width) / 2
        top = max(20, (self.height() - height) / 2)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.PANEL)
        p.drawRoundedRect(QRectF(left - 20, top - 20, width + 40, height + 30), 10, 10)
        p.setPen(theme.TEXT)
        p.setFont(title)
        p.drawText(QRectF(left, top - 8, width, 30), Qt.AlignmentFlag.AlignLeft, "Keys and mouse")
        col_w = width / columns
        for i, (keys, what) in enumerate(self.rows):
            x = left + (i // per_column) * col_w
            y = top + 34 + (i % per_column) * row_h
            p.setFont(key_font)
            p.setPen(theme.ACCENT.lighter(130))
            p.drawText(QRectF(x, y, key_w, row_h), Qt.AlignmentFlag.AlignVCenter, keys)
            p.setFont(text_font)
            p.setPen(theme.TEXT)
            room = col_w - key_w - 16
            p.drawText(QRectF(x + key_w, y, room, row_h), Qt.AlignmentFlag.AlignVCenter,
                       QFontMetricsF(text_font).elidedText(what, Qt.TextElideMode.ElideRight, room))
        p.end()
