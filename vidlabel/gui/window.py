"""The main window: lays out the canvas, the timeline and the docks, and binds the keys (each
command's handler here; its action, menu entry and toolbar button are built in menus.py).

It holds no annotation logic. Views report what the person did; the controller edits the project
through the correction API; the window only routes signals between them and draws the result.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QDockWidget, QInputDialog, QLabel, QMainWindow, QVBoxLayout, QWidget

from .canvas import FrameCanvas
from .classes_panel import ClassesPanel
from .controller import Controller
from .export_dialog import ExportDialog
from .filmstrip import Filmstrip, crop
from .help_overlay import HelpOverlay
from .menus import bind_actions, build_menus
from .prelabel_dialog import PrelabelDialog
from .queue_panel import QueuePanel, QueueWalker
from .refresh import Refresher, Snapshot
from .stats_panel import StatsPanel
from .timeline import Timeline
from .tracks_panel import TracksPanel

HINT = "drag to draw · Enter accepts the frame and goes to the next in the queue · N next · F1 all keys"


class MainWindow(QMainWindow):
    openRequested = pyqtSignal()  # File > Open: the launcher replaces this window
    closing = pyqtSignal()        # about to close (the launcher remembers where the person was)

    def __init__(self, controller: Controller, keys: dict[str, list[str]]) -> None:
        super().__init__()
        self.c = controller
        self.setWindowTitle(f"{controller.project.path.name} — vidlabel")
        self.resize(1440, 860)
        self._closed = False

        self.canvas = FrameCanvas()
        self.timeline = Timeline()
        self.timeline.set_frame_count(controller.frame_count)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.timeline)
        self.setCentralWidget(central)
        self.help = HelpOverlay(keys, self.canvas)

        self.queue_panel = QueuePanel()
        self.tracks_panel = TracksPanel()
        self.stats_panel = StatsPanel()
        self.classes_panel = ClassesPanel()
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        docks = {}
        for title, widget, area in (("Review queue", self.queue_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("Tracks", self.tracks_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("Classes", self.classes_panel, Qt.DockWidgetArea.LeftDockWidgetArea),
                                    ("Statistics", self.stats_panel, Qt.DockWidgetArea.LeftDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(title)
            dock.setWidget(widget)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
            self.addDockWidget(area, dock)
            docks[title] = dock
        self.resizeDocks([docks["Review queue"], docks["Classes"]], [430, 230], Qt.Orientation.Horizontal)
        self.resizeDocks([docks["Review queue"], docks["Tracks"]], [380, 380], Qt.Orientation.Vertical)
        self.resizeDocks([docks["Classes"], docks["Statistics"]], [200, 500], Qt.Orientation.Vertical)

        self.frame_label = QLabel()
        self.message_label = QLabel()
        self.statusBar().addWidget(self.message_label, 1)
        self.statusBar().addPermanentWidget(self.stats_panel.quality)
        self.statusBar().addPermanentWidget(self.frame_label)
        self.show_message("")
        self.walker = QueueWalker(self.c, self.queue_panel, self.show_message)

        self.actions_by_name: dict[str, QAction] = bind_actions(self, self._handlers(), keys)
        self.play_button = build_menus(self, self.actions_by_name, keys)
        self.filmstrip = Filmstrip([(name, label, self.actions_by_name[name]) for name, label in (
            ("accept_track_pick", "✓ Accept all crops"), ("delete_track", "Delete track"),
            ("narrow_track_pick", "Where did it change?"), ("split_track", "Split at the selected crop"),
            ("move_tail", "Tail to another track"), ("wrong_from_here", "Wrong from the selected crop"),
            ("accept_box", "Keep the selected track"), ("delete_similar", "Delete all not kept"))])
        layout.insertWidget(1, self.filmstrip)   # between the canvas and the timeline
        self._wire()

        self.refresher = Refresher(controller.project.path, self)
        self.refresher.ready.connect(self._apply_snapshot)
        self.refresher.failed.connect(self.show_message)
        self.classes_panel.set_classes(controller.class_names(), controller.current_class)
        self._show_frame()
        self.refresher.request()

    # -- construction -------------------------------------------------------------------------
    def _handlers(self) -> dict[str, Callable[[], None]]:
        c = self.c
        handlers = {
            "next_frame": lambda: c.step(1), "previous_frame": lambda: c.step(-1),
            "forward_10": lambda: c.step(10), "back_10": lambda: c.step(-10),
            "play_pause": c.toggle_play, "next_in_queue": self.walker.next,
            "previous_in_queue": self.walker.previous,
            "accept_frame_and_next": self.accept_and_next, "accept_box": c.accept_selected,
            "delete_box": c.delete_selected, "delete_track": c.delete_selected_track,
            "wrong_from_here": c.wrong_from_here, "accept_track_pick": c.accept_track_pick,
            "narrow_track_pick": c.narrow_track_pick, "delete_similar": c.delete_similar, "undo": c.undo, "redo": c.redo,
            "set_track_id": self._ask_track_id, "merge_tracks": self._ask_merge,
            "split_track": c.split_here, "move_tail": self._ask_tail_track, "mark_outside": c.mark_outside,
            "toggle_occluded": c.toggle_occluded, "deselect": self._escape,
            "go_to_frame": self._ask_frame, "toggle_labels": self._toggle_labels,
            "faster": lambda: self._speed(1), "slower": lambda: self._speed(-1),
            **{f"nudge_{d}{big}": lambda _c=False, d=d, big=big: self._nudge(d, 10 if big else 1)
               for d in ("left", "right", "up", "down") for big in ("", "_10")},
            "next_box": self._select_next_box, "fit_view": self.canvas.fit,
            "zoom_in": lambda: self.canvas.zoom(1.25), "zoom_out": lambda: self.canvas.zoom(0.8),
            "help": self.help.toggle, "repropagate": c.repropagate, "interpolate": c.interpolate,
        }
        for i in range(1, 10):
            handlers[f"class_{i}"] = lambda _checked=False, i=i: c.set_current_class(i - 1)
        return handlers

    def _wire(self) -> None:
        c = self.c
        c.frameChanged.connect(self._show_frame)
        c.boxesChanged.connect(self._show_boxes)
        c.selectionChanged.connect(self._show_boxes)
        c.selectionChanged.connect(self.tracks_panel.select)
        c.projectChanged.connect(self.refresher_request)
        c.classesChanged.connect(self._show_classes)
        c.playingChanged.connect(lambda on: self.play_button.setText("❚❚  Pause" if on else "▶  Play"))
        c.message.connect(self.show_message)
        c.queueChanged.connect(self._show_queue)
        c.trackPickChanged.connect(self._show_track_pick)
        c.frameChanged.connect(self.filmstrip.mark)
        self.filmstrip.cropChosen.connect(self._open_crop)
        self.canvas.boxDrawn.connect(c.draw_box)
        self.canvas.boxEdited.connect(c.move_box)
        self.canvas.boxClicked.connect(c.select)
        self.timeline.seekRequested.connect(c.seek)
        self.tracks_panel.trackChosen.connect(self._go_to_track)
        self.classes_panel.classChosen.connect(c.set_current_class)
        self.classes_panel.addRequested.connect(c.add_class)
        self.classes_panel.renameRequested.connect(c.rename_class)
        self.classes_panel.mergeRequested.connect(c.merge_class)

    def refresher_request(self) -> None:
        self.refresher.request()

    # -- drawing ------------------------------------------------------------------------------
    def _show_frame(self, *_: object) -> None:
        self.canvas.set_image(self.c.image())
        self._show_boxes()
        self.timeline.set_current(self.c.frame)
        fps = self.c.video.fps or 25.0
        t = self.c.frame / fps
        self.frame_label.setText(f"frame {self.c.frame} of {self.c.frame_count} (from 0)   "
                                 f"{int(t // 60):02d}:{t % 60:05.2f}")

    def _show_boxes(self, *_: object) -> None:
        self.canvas.badge = "✓ VERIFIED" if self.c.frame_verified() else ""
        self.canvas.set_boxes(self.c.boxes(), self.c.class_names(), self.c.selected_track,
                              self.c.ignore_regions())

    def _show_classes(self) -> None:
        self.classes_panel.set_classes(self.c.class_names(), self.c.current_class)
        self._show_boxes()

    def _apply_snapshot(self, snap: Snapshot) -> None:
        if self._closed:  # a queued result delivered after close: the project is gone
            return
        self.stats_panel.set_stats(snap.stats)
        self.tracks_panel.set_tracks(snap.tracks, self.c.class_names(), self.c.selected_track)
        self.timeline.set_scores(snap.scores)
        self.timeline.set_verified(snap.verified)

    @property
    def picks(self) -> list:
        """The review queue as last ranked by the session's scoring worker."""
        return self.c.picks

    def _show_queue(self, update) -> None:
        if self._closed:
            return
        self.queue_panel.set_picks(update.picks)
        self.queue_panel.highlight(self.c.frame)
        self.timeline.set_picks([p.frame for p in update.picks])
        self.stats_panel.set_guidance(update.stopping)

    def _show_track_pick(self, pick) -> None:
        """The filmstrip of the track pick the queue jumped to (hidden when there is none)."""
        if pick is None:
            self.filmstrip.clear()
            return
        why = "; ".join(pick.reasons) or "least sure of its boxes"
        if pick.group:
            title = (f"<b>{len(pick.group)} tracks like the ones you deleted</b>: click the crop of any on a "
                     "wanted object and keep it, then delete the rest")
            answers = ("accept_box", "delete_similar", "accept_track_pick")
            caption = lambda b: f"track {b.track_id}\nframe {b.frame}"  # noqa: E731
        else:
            kind = "candidate track" if pick.track_id in self.c.project.candidate_tracks() else "track"
            title = f"<b>{kind} {pick.track_id}</b>: is it one wanted object on every crop? · picked because: {why}"
            answers = ("accept_track_pick", "delete_track", "narrow_track_pick", "split_track", "move_tail",
                       "wrong_from_here")
            caption = lambda b: f"frame {b.frame} · {b.confidence:.2f}"  # noqa: E731
        crops = [(b.frame, b.track_id, crop(self.c.video.frame(b.frame), b.xywh), caption(b))
                 for b in self.c.track_pick_boxes()]
        self.filmstrip.show_crops(title, crops, answers)
        self.filmstrip.mark(self.c.frame, pick.track_id)

    def _open_crop(self, frame: int, track: int) -> None:
        if self.c.track_pick is not None:
            self.c.seek(frame)
            self.c.select(track)
            self.filmstrip.mark(frame, track)

    def show_message(self, text: str) -> None:
        self.message_label.setText(text or HINT)
        self.message_label.setToolTip(text)   # the whole text, where the status bar cuts it

    # -- commands that need the window (dialogs, the queue) ----------------------------------
    def accept_and_next(self) -> None:
        self.c.accept_frame()
        self.walker.next()

    def _go_to_track(self, track_id: int, first: int, last: int) -> None:
        if not self.c.has_box(track_id):
            self.c.seek(first if abs(self.c.frame - first) <= abs(self.c.frame - last) else last)
        self.c.select(track_id)

    def _select_next_box(self) -> None:
        ids = sorted(b.track_id for b in self.c.boxes())
        if ids:
            later = [t for t in ids if self.c.selected_track is None or t > self.c.selected_track]
            self.c.select(later[0] if later else ids[0])

    def _escape(self) -> None:
        """Escape closes what covers the frame (the key overlay) first, then the selection."""
        if self.help.isVisible():
            self.help.hide()
        else:
            self.c.select(None)

    def _ask_frame(self) -> None:
        frame, ok = QInputDialog.getInt(self, "Go to frame", f"Frame (0..{self.c.frame_count - 1}):",
                                        self.c.frame, 0, self.c.frame_count - 1)
        if ok:
            self.c.seek(frame)

    def _toggle_labels(self) -> None:
        self.canvas.show_labels = not self.canvas.show_labels
        self._show_boxes()
        self.show_message("labels shown" if self.canvas.show_labels else "labels hidden (the selected box keeps its)")

    def _speed(self, steps: int) -> None:
        self.show_message(f"playback at {self.c.change_speed(steps):g}x")

    def _nudge(self, direction: str, pixels: int) -> None:
        """Move the selected box by whole image pixels (a fix, like a drag)."""
        if (box := self.c.selected_box()) is None:
            self.show_message("select a box first (click it)")
            return
        dx, dy = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}[direction]
        self.c.move_box(box.id, (box.x + dx * pixels, box.y + dy * pixels, box.w, box.h))

    def _ask_track_id(self) -> None:
        if (box := self.c.selected_box()) is None:
            self.show_message("select a box first (click it)")
            return
        track, ok = QInputDialog.getInt(self, "Track id", f"New track id for this box (now {box.track_id}):",
                                        box.track_id, 1, 1 << 30)
        if ok and track != box.track_id:
            self.c.set_box_track(track)

    def _ask_tail_track(self) -> None:
        if (box := self.c.selected_box()) is None:
            self.show_message("select a box first (click it)")
            return
        track, ok = QInputDialog.getInt(self, "Move the tail", f"From frame {self.c.frame} on, track "
                                        f"{box.track_id}'s boxes belong to track:", 1, 1, 1 << 30)
        if ok and track != box.track_id:
            self.c.move_tail(track)

    def _ask_merge(self) -> None:
        if (box := self.c.selected_box()) is None:
            self.show_message("select a box first (click it)")
            return
        keep, ok = QInputDialog.getInt(self, "Merge tracks", f"Merge track {box.track_id} into track:",
                                       1, 1, 1 << 30)
        if ok:
            self.c.merge_into(keep)

    def show_prelabel(self) -> PrelabelDialog:
        """The pre-labelling dialog; window-modal, so no edit races the job's final write."""
        dialog = PrelabelDialog(self.c.project, self.c.frame_count, self)
        dialog.prelabelled.connect(lambda _summary: self.c.restart_session())
        dialog.finished.connect(lambda _result: self.show_message(dialog.status.text()))
        dialog.open()
        return dialog

    def show_export(self) -> ExportDialog:
        """The export dialog, window-modal but not blocking (the event loop keeps running)."""
        dialog = ExportDialog(self.c.project.path, self)
        dialog.finished.connect(lambda _result: self.show_message(dialog.status.text()))
        dialog.open()
        return dialog

    def closeEvent(self, event) -> None:
        # Results already queued from worker threads may still arrive: they must find no one
        # listening, since the project is about to close. Blocking signals stops new emissions;
        # `_closed` turns away results already queued in the event loop.
        self.closing.emit()
        self._closed = True
        self.refresher.blockSignals(True)
        self.c.blockSignals(True)
        self.refresher.stop()
        self.c.close()
        super().closeEvent(event)
