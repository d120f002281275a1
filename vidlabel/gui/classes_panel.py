"""The class palette and editor: pick the class for new boxes (or keys 1-9); add, rename, merge."""

from __future__ import annotations

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class ClassesPanel(QWidget):
    classChosen = pyqtSignal(int)
    addRequested = pyqtSignal(str)
    renameRequested = pyqtSignal(int, str)
    mergeRequested = pyqtSignal(int, int)  # source, target

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names: list[str] = []
        self.list = QListWidget()
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.list.itemClicked.connect(lambda item: self.classChosen.emit(self.list.row(item)))
        buttons = QHBoxLayout()
        for text, slot in (("Add…", self._add), ("Rename…", self._rename), ("Merge into…", self._merge)):
            b = QPushButton(text)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.addWidget(self.list)
        layout.addLayout(buttons)

    def set_classes(self, names: list[str], current: int) -> None:
        self.names = list(names)
        self.list.clear()
        for i, name in enumerate(names):
            key = f"{i + 1}" if i < 9 else " "
            item = QListWidgetItem(f"{key}   {name}")
            self.list.addItem(item)
        if 0 <= current < len(names):
            self.list.setCurrentRow(current)

    def _chosen(self) -> int | None:
        row = self.list.currentRow()
        return row if 0 <= row < len(self.names) else None

    def _add(self) -> None:
        name, ok = QInputDialog.getText(self, "Add class", "Class name:")
        if ok and name.strip():
            self.addRequested.emit(name.strip())

    def _rename(self) -> None:
        if (cid := self._chosen()) is None:
            return
        name, ok = QInputDialog.getText(self, "Rename class", f"New name for {self.names[cid]!r}:",
                                        text=self.names[cid])
        if ok:
            self.renameRequested.emit(cid, name.strip())

    def _merge(self) -> None:
        if (cid := self._chosen()) is None or len(self.names) < 2:
            return
        others = [n for i, n in enumerate(self.names) if i != cid]
        target, ok = QInputDialog.getItem(self, "Merge class",
                                          f"Move every {self.names[cid]!r} box to:", others, 0, False)
        if ok:
            self.mergeRequested.emit(cid, self.names.index(target))
