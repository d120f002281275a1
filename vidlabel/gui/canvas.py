"""The frame canvas: the current frame with its boxes; zoom, pan, draw, move and resize.

It knows nothing of the project. It is given an image and the frame's boxes, and reports what the
person did with the mouse (`boxDrawn`, `boxEdited`, `boxClicked`); the controller turns that into
edits and hands back the new boxes. Only the current frame's few boxes are ever items in the
scene, which is why stepping stays fast whatever the size of the project.

Mouse: drag on empty image draws a box (Ctrl+drag draws even over a box); click a box to select
it; drag inside it to move, drag a handle to resize; wheel zooms around the cursor; the middle or
right button pans; double-click the background fits the frame to the window.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)
from PyQt6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from ..datamodel import XYWH, Box, IgnoreRegion, Source
from . import theme

HANDLE_PX = 7  # handle size on screen, whatever the zoom
MIN_BOX_PX = 3  # a drag shorter than this (image pixels) is a click, not a box


def bgr_to_pixmap(image: np.ndarray) -> QPixmap:
    """A QPixmap of a BGR uint8 frame (Qt reads BGR directly: no channel swap in Python)."""
    image = np.ascontiguousarray(image)
    h, w = image.shape[:2]
    qimage = QImage(image.data, w, h, image.strides[0], QImage.Format.Format_BGR888)
    return QPixmap.fromImage(qimage)  # copies the pixels, so `image` may go


def box_label(box: Box, class_names: list[str]) -> str:
    """What the tag above a box says: class, track id, and how sure the machine was."""
    name = class_names[box.class_id] if 0 <= box.class_id < len(class_names) else f"class {box.class_id}"
    text = f"{name} {box.track_id}"
    if not box.verified:
        text += f" · {box.confidence:.0%}" if box.source == Source.DETECTOR else f" · {box.source.value}"
    if box.occluded:
        text += " · occluded"
    return text


class _Tag(QGraphicsItem):
    """The label above a box, drawn at a fixed screen size (it ignores the view's zoom)."""

    FONT = QFont("DejaVu Sans", 8, QFont.Weight.DemiBold)

    def __init__(self, text: str, colour: QColor, solid: bool, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.text, self.colour, self.solid = text, colour, solid
        metrics = QFontMetricsF(self.FONT)
        self._rect = QRectF(-1, -metrics.height() - 3, metrics.horizontalAdvance(text) + 8,
                            metrics.height() + 3)

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(self.colour)
        if not self.solid:
            fill.setAlpha(170)  # machine boxes look less certain, here too
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(fill)
        painter.drawRoundedRect(self._rect, 2, 2)
        painter.setPen(QColor("#111214"))
        painter.setFont(self.FONT)
        painter.drawText(self._rect.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, self.text)


class BoxItem(QGraphicsItem):
    """One box: dashed while machine-made, solid once a person verified it; handles when selected."""

    def __init__(self, box: Box, label: str, selected: bool,
                 on_press: Callable[["BoxItem"], None], on_edit: Callable[[int, XYWH], None]) -> None:
        super().__init__()
        self.box = box
        self.rect = QRectF(box.x, box.y, box.w, box.h)
        self.colour = theme.track_colour(box.track_id)
        self.selected = selected
        self._on_press, self._on_edit = on_press, on_edit
        self._drag: tuple[int, QPointF, QRectF] | None = None  # (handle or -1 for move, start, rect)
        self.setZValue(2 if selected else 1)
        self.setAcceptHoverEvents(True)
        self.tag = _Tag(label, self.colour, box.verified, self)
        self.tag.setPos(self.rect.topLeft())
        self.setToolTip(f"track {box.track_id} · {box.source.value} · confidence {box.confidence:.2f} · "
                        + ("verified by a person" if box.verified else "not yet checked")
                        + (" · occluded" if box.occluded else ""))

    # -- geometry -----------------------------------------------------------------------------
    def _scale(self) -> float:
        views = self.scene().views() if self.scene() else []
        return views[0].transform().m11() if views else 1.0

    def _handle_size(self) -> float:
        return HANDLE_PX / self._scale()

    def _handles(self) -> list[QPointF]:
        r = self.rect
        cx, cy = r.center().x(), r.center().y()
        return [r.topLeft(), QPointF(cx, r.top()), r.topRight(), QPointF(r.right(), cy),
                r.bottomRight(), QPointF(cx, r.bottom()), r.bottomLeft(), QPointF(r.left(), cy)]

    def boundingRect(self) -> QRectF:
        m = self._handle_size() + 2 / self._scale()
        return self.rect.adjusted(-m, -m, m, m)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self.boundingRect() if self.selected else self.rect)
        return path

    def handle_at(self, pos: QPointF) -> int:
        """Index of the handle under `pos` (scene units), -1 for none."""
        if not self.selected:
            return -1
        reach = self._handle_size()
        for i, h in enumerate(self._handles()):
            if abs(h.x() - pos.x()) <= reach and abs(h.y() - pos.y()) <= reach:
                return i
        return -1

    # -- painting -----------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        pen = QPen(self.colour, 2.5 if self.box.verified else 2.0)
        pen.setCosmetic(True)
        if not self.box.verified:
            pen.setStyle(Qt.PenStyle.CustomDashLine)
            pen.setDashPattern([4, 3])
        painter.setPen(pen)
        if self.box.occluded:
            fill = QColor(self.colour)
            fill.setAlpha(110)
            painter.setBrush(QBrush(fill, Qt.BrushStyle.BDiagPattern))
        elif self.selected:
            fill = QColor(self.colour)
            fill.setAlpha(40)
            painter.setBrush(fill)
        else:
            painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(self.rect)
        if self.selected:
            s = self._handle_size()
            handle_pen = QPen(QColor("#111214"), 1)
            handle_pen.setCosmetic(True)
            painter.setPen(handle_pen)
            painter.setBrush(QColor("#ffffff"))
            for h in self._handles():
                painter.drawRect(QRectF(h.x() - s / 2, h.y() - s / 2, s, s))

    # -- mouse --------------------------------------------------------------------------------
    def hoverMoveEvent(self, event) -> None:
        handle = self.handle_at(event.pos())
        cursors = [Qt.CursorShape.SizeFDiagCursor, Qt.CursorShape.SizeVerCursor,
                   Qt.CursorShape.SizeBDiagCursor, Qt.CursorShape.SizeHorCursor]
        self.setCursor(cursors[handle % 4] if handle >= 0 else Qt.CursorShape.SizeAllCursor
                       if self.selected else Qt.CursorShape.PointingHandCursor)

    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            event.ignore()
            return
        handle = self.handle_at(event.pos())
        self._drag = (handle, event.pos(), QRectF(self.rect))
        self._on_press(self)
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        if self._drag is None:
            return
        handle, start, rect = self._drag
        if self.rect == rect and _within_drag_distance(event):
            return  # a hand's tremor while clicking to select is not a fix
        d = event.pos() - start
        r = QRectF(rect)
        if handle < 0:
            r.translate(d)
        else:
            if handle in (0, 6, 7):
                r.setLeft(rect.left() + d.x())
            if handle in (2, 3, 4):
                r.setRight(rect.right() + d.x())
            if handle in (0, 1, 2):
                r.setTop(rect.top() + d.y())
            if handle in (4, 5, 6):
                r.setBottom(rect.bottom() + d.y())
        self.prepareGeometryChange()
        self.rect = r.normalized()
        self.tag.setPos(self.rect.topLeft())

    def mouseReleaseEvent(self, event) -> None:
        if self._drag is None:
            return
        _, _, start_rect = self._drag
        self._drag = None
        r = self.rect
        if r != start_rect and r.width() >= 1 and r.height() >= 1:
            self._on_edit(self.box.id, (r.x(), r.y(), r.width(), r.height()))


def _within_drag_distance(event) -> bool:
    """Whether the mouse is still within the platform's drag distance of where it was pressed
    (screen pixels, whatever the zoom): until it leaves it, a press is a click, not a drag."""
    moved = event.screenPos() - event.buttonDownScreenPos(Qt.MouseButton.LeftButton)
    return moved.manhattanLength() < QApplication.startDragDistance()


class FrameCanvas(QGraphicsView):
    boxDrawn = pyqtSignal(tuple)        # (x, y, w, h) in image pixels
    boxEdited = pyqtSignal(int, tuple)  # box id, new (x, y, w, h)
    boxClicked = pyqtSignal(object)     # track id, or None for a click on the background

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        # No spatial index: a frame holds tens of items, replaced on every step, and a box's
        # bounding rectangle (its handles) follows the zoom, which a BSP index does not see
        # change: a removed box could stay in the index and be painted after it was freed.
        self.scene().setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(theme.BACKGROUND)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.show_labels = True   # off in crowds, where labels cover each other (the selected box keeps its)
        self._pixmap = QGraphicsPixmapItem()
        self._pixmap.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.scene().addItem(self._pixmap)
        self.items_by_track: dict[int, BoxItem] = {}
        self._ignore_items: list[QGraphicsRectItem] = []
        self._fit = True           # follow the window size until the person zooms
        self._pan_from: QPointF | None = None
        self._rubber: QGraphicsRectItem | None = None
        self._rubber_from: QPointF | None = None
        self.badge = ""             # text shown in the top-right corner (e.g. "verified")

    # -- content ------------------------------------------------------------------------------
    def set_image(self, image: np.ndarray) -> None:
        first = self._pixmap.pixmap().isNull()
        self._pixmap.setPixmap(bgr_to_pixmap(image))
        self.scene().setSceneRect(QRectF(self._pixmap.pixmap().rect()).adjusted(-200, -200, 200, 200))
        if first or self._fit:
            self.fit()

    def set_boxes(self, boxes: list[Box], class_names: list[str], selected_track: int | None,
                  ignore: list[IgnoreRegion] = ()) -> None:
        for item in [*self.items_by_track.values(), *self._ignore_items]:
            self.scene().removeItem(item)
        self.items_by_track = {}
        self._ignore_items = []
        pen = QPen(QColor(200, 200, 200, 150), 1, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        for r in ignore:  # areas ground truth says to ignore: shown, never editable
            item = QGraphicsRectItem(QRectF(r.x, r.y, r.w, r.h))
            item.setPen(pen)
            item.setBrush(QBrush(QColor(200, 200, 200, 70), Qt.BrushStyle.BDiagPattern))
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            item.setToolTip("ignore region")
            self.scene().addItem(item)
            self._ignore_items.append(item)
        for b in boxes:
            item = BoxItem(b, box_label(b, class_names), b.track_id == selected_track,
                           self._box_pressed, self._box_edited)
            item.tag.setVisible(self.show_labels or b.track_id == selected_track)
            self.scene().addItem(item)
            self.items_by_track[b.track_id] = item
        self.viewport().update()

    def ignore_rects(self) -> list[XYWH]:
        """The ignore regions drawn on this frame, as (x, y, w, h) in image pixels."""
        rects = [item.rect() for item in self._ignore_items]
        return [(r.x(), r.y(), r.width(), r.height()) for r in rects]

    def image_rect(self) -> QRectF:
        return QRectF(self._pixmap.pixmap().rect())

    # -- view ---------------------------------------------------------------------------------
    def fit(self) -> None:
        self._fit = True
        if not self._pixmap.pixmap().isNull():
            self.fitInView(self.image_rect().adjusted(-8, -8, 8, 8), Qt.AspectRatioMode.KeepAspectRatio)

    def zoom(self, factor: float) -> None:
        self._fit = False
        scale = self.transform().m11() * factor
        if 0.05 <= scale <= 40:
            self.scale(factor, factor)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit:
            self.fit()

    def wheelEvent(self, event) -> None:
        self.zoom(1.25 ** (event.angleDelta().y() / 120))

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if not self.badge:
            return
        painter.save()
        painter.resetTransform()
        font = QFont("DejaVu Sans", 9, QFont.Weight.Bold)
        painter.setFont(font)
        w = QFontMetricsF(font).horizontalAdvance(self.badge) + 20
        box = QRectF(self.viewport().width() - w - 12, 12, w, 24)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(theme.VERIFIED)
        painter.drawRoundedRect(box, 12, 12)
        painter.setPen(QColor("#0d1117"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, self.badge)
        painter.restore()

    # -- mouse --------------------------------------------------------------------------------
    def _box_pressed(self, item: BoxItem) -> None:
        self.boxClicked.emit(item.box.track_id)

    def _box_edited(self, box_id: int, xywh: XYWH) -> None:
        self.boxEdited.emit(box_id, xywh)

    def mousePressEvent(self, event) -> None:
        if event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.RightButton):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        item = self.itemAt(event.position().toPoint())
        over_box = isinstance(item, (BoxItem, _Tag))
        if event.button() == Qt.MouseButton.LeftButton and (
                not over_box or event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            self._rubber_from = self.mapToScene(event.position().toPoint())
            self._rubber = QGraphicsRectItem(QRectF(self._rubber_from, self._rubber_from))
            pen = QPen(theme.ACCENT, 2, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            self._rubber.setPen(pen)
            self._rubber.setZValue(10)
            self.scene().addItem(self._rubber)
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            d = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(d.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(d.y()))
            self._fit = False
            return
        if self._rubber is not None:
            here = self.mapToScene(event.position().toPoint())
            self._rubber.setRect(QRectF(self._rubber_from, here).normalized())
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            return
        if self._rubber is not None:
            r = self._rubber.rect().intersected(self.image_rect())
            self.scene().removeItem(self._rubber)
            self._rubber = None
            if r.width() >= MIN_BOX_PX and r.height() >= MIN_BOX_PX:
                self.boxDrawn.emit((r.x(), r.y(), r.width(), r.height()))
            else:
                self.boxClicked.emit(None)
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if not isinstance(self.itemAt(event.position().toPoint()), (BoxItem, _Tag)):
            self.fit()
        else:
            super().mouseDoubleClickEvent(event)
