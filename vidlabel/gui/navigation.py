"""Where the person is: the current frame and the selected track, stepping and playing, and
reading what is on that frame.

This is the half of the controller that never edits, which is why it is a class of its own: it
reads the project through its index lookups and needs no review session, so the person can
step, play, select and look while the session is still scoring the project, and even when it
could not be started at all. `Controller` adds the session and the edits on top of it.
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from ..datamodel import Box, IgnoreRegion
from ..prefetch import Prefetcher
from ..store.project import Project
from ..video import FrameSource

# Frames around the current one decoded ahead (vidlabel.prefetch): stepping or playing on, one back.
NEIGHBOURS = (1, 2, 3, -1)


class Navigator(QObject):
    frameChanged = pyqtSignal(int)         # the current frame moved: redraw image and boxes
    selectionChanged = pyqtSignal(object)  # selected track id or None
    playingChanged = pyqtSignal(bool)

    def __init__(self, project: Project, video: FrameSource, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.project = project
        self.video = video
        self.frame = 0
        self.selected_track: int | None = None
        self.speed = 1.0
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(max(1, round(1000 / (video.fps or 25.0))))
        self._play_timer.timeout.connect(self._play_tick)
        self.prefetcher = Prefetcher(video)

    # -- reading ------------------------------------------------------------------------------
    @property
    def frame_count(self) -> int:
        return self.video.frame_count

    def image(self) -> np.ndarray:
        """The current frame, BGR, exactly the decoder's frame `self.frame`."""
        return self.video.frame(self.frame)

    def boxes(self) -> list[Box]:
        """The boxes to draw on the current frame (an index lookup: cheap at any project size):
        its annotation, and the selected track's box when that is a candidate (a candidate
        track pick selects it)."""
        hidden = self.project.candidate_tracks() - {self.selected_track}
        return [b for b in self.project.boxes(frame=self.frame, include_outside=False) if b.track_id not in hidden]

    def ignore_regions(self) -> list[IgnoreRegion]:
        return self.project.ignore_regions(frame=self.frame)

    def has_box(self, track_id: int) -> bool:
        """Whether the track is visible on the current frame."""
        return bool(self.project.boxes(frame=self.frame, track_id=track_id, include_outside=False))

    def verified_frames(self) -> set[int]:
        return set(self.project.verified_frames())

    def selected_box(self) -> Box | None:
        if self.selected_track is None:
            return None
        found = self.project.boxes(frame=self.frame, track_id=self.selected_track, include_outside=False)
        return found[0] if found else None

    def class_names(self) -> list[str]:
        return self.project.class_names()

    def frame_verified(self) -> bool:
        return self.project.frame_is_verified(self.frame)

    # -- moving -------------------------------------------------------------------------------
    def seek(self, frame: int) -> None:
        frame = int(min(max(frame, 0), self.frame_count - 1))
        if frame != self.frame:
            self.frame = frame
            self.frameChanged.emit(frame)
            self.prefetch()

    def upcoming(self) -> list[int]:
        """Frames the person is likely to open next besides the neighbours (the controller's
        queue); decoded ahead, in this order, after the neighbours."""
        return []

    def prefetch(self) -> None:
        """Decode ahead what is likely next from here, instead of what was for the last place."""
        self.prefetcher.want([self.frame + d for d in NEIGHBOURS] + self.upcoming())

    def step(self, delta: int) -> None:
        self.seek(self.frame + delta)

    @property
    def playing(self) -> bool:
        return self._play_timer.isActive()

    SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)

    def change_speed(self, steps: int) -> float:
        """Playback speed one step faster or slower (of `SPEEDS`, times the video's frame rate)."""
        self.speed = self.SPEEDS[min(max(self.SPEEDS.index(self.speed) + steps, 0), len(self.SPEEDS) - 1)]
        self._play_timer.setInterval(max(1, round(1000 / ((self.video.fps or 25.0) * self.speed))))
        return self.speed

    def toggle_play(self) -> None:
        if self.playing:
            self._play_timer.stop()
        else:
            if self.frame >= self.frame_count - 1:
                self.seek(0)
            self._play_timer.start()
        self.playingChanged.emit(self.playing)

    def _play_tick(self) -> None:
        if self.frame >= self.frame_count - 1:
            self.toggle_play()
        else:
            self.step(1)

    def select(self, track_id: int | None) -> None:
        if track_id != self.selected_track:
            self.selected_track = track_id
            self.selectionChanged.emit(track_id)

    def close(self) -> None:
        """Stop playing and close the project and the video (a subclass first stops whatever
        writes to them)."""
        self._play_timer.stop()
        self.prefetcher.close()
        self.project.close()
        self.video.close()
