"""A table cell drawn as a small bar with its number: shares and scores read at a glance."""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor, QPainter
from PyQt6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from . import theme

VALUE_ROLE = Qt.ItemDataRole.UserRole + 1  # the cell's value in 0..1


class BarDelegate(QStyledItemDelegate):
    def __init__(self, colour: Callable[[float], QColor], parent=None) -> None:
        super().__init__(parent)
        self.colour = colour

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        value = index.data(VALUE_ROLE)
        if value is None:
            super().paint(painter, option, index)
            return
        painter.save()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        r = QRectF(option.rect).adjusted(4, 5, -4, -5)
        bar = QRectF(r.left(), r.top(), r.width() * 0.55, r.height())
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#3a3d44"))
        painter.drawRoundedRect(bar, 2, 2)
        painter.setBrush(self.colour(float(value)))
        painter.drawRoundedRect(QRectF(bar.left(), bar.top(), bar.width() * min(max(float(value), 0.0), 1.0),
                                       bar.height()), 2, 2)
        painter.setPen(theme.TEXT)
        painter.drawText(QRectF(bar.right() + 6, option.rect.top(), r.right() - bar.right() - 6,
                                option.rect.height()), Qt.AlignmentFlag.AlignVCenter, index.data())
        painter.restore()
