"""Track picks: review a whole track from a few crops, and learn from the verdicts which tracks are false.

A frame pick pays a look for every box on the frame; a false track (a detector's weak trail on
something the guideline does not want) then costs a delete on every frame it crosses. A track
pick shows one track on a few frames (its ends and where its boxes are least sure) and takes one
decision for all of it: delete the track, say where it goes wrong, or accept/fix the crops. It
pays one look per crop.

Which tracks to offer is what the person's verdicts teach: every deleted track is an example of
a false one, and so is the track of every machine box deleted on a frame; every track on an
accepted frame is an example of a real one. A logistic regression on cheap track features (how
confident and how consistently detected, how large, how long, where in the image)
predicts P(false) for the tracks not yet reviewed, so after a few tiny far-away tracks are deleted
the other tracks like them come first. Until both kinds of verdict exist, P(false) is the track's
own evidence: one minus its mean detector confidence.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ..datamodel import Box, Source
from ..store.project import Project
from .edits import Edit
from .signals import FrameState

CROPS = 4              # a track pick shows at most this many crops: its ends and its least sure boxes
MIN_EXAMPLES = 4       # verdicts (of both kinds) before the learned model replaces the prior
GROUP = 10             # tracks in one "delete all similar" pick: their 20 crops fit one row of a screen


def track_features(boxes: Sequence[Box], width: float = 1.0, height: float = 1.0) -> list[float]:
    """What a track's boxes say about it, all cheap: mean detector confidence, share of frames a
    detector confirmed, log of the median box height, log of the track's length, and where in
    the image it is (median centre as a share of the image's `width` and `height`: guidelines
    often leave a region out, a shop window or the far end of a street)."""
    visible = [b for b in boxes if not b.outside]
    if not visible:
        return [0.0, 0.0, 0.0, 0.0, 0.5, 0.5]
    detected = [b.confidence for b in visible if b.source is Source.DETECTOR]
    mean_conf = float(np.mean(detected)) if detected else 0.0
    return [mean_conf, len(detected) / len(visible), math.log(max(1.0, float(np.median([b.h for b in visible])))),
            math.log(len(visible)), float(np.median([b.x + b.w / 2 for b in visible])) / width,
            float(np.median([b.y + b.h / 2 for b in visible])) / height]


class TrackErrorModel:
    """P(false) of a track, learned from the person's verdicts on tracks (scikit-learn logistic
    regression, refitted when new verdicts arrive; a handful of examples is all it gets)."""

    def __init__(self) -> None:
        self.examples: list[tuple[list[float], bool]] = []
        self._fitted = None
        self._fitted_on = 0

    def observe(self, features: list[float], false: bool) -> None:
        self.examples.append((features, false))

    @property
    def learned(self) -> bool:
        labels = {f for _, f in self.examples}
        return len(self.examples) >= MIN_EXAMPLES and labels == {True, False}

    def p_false(self, features: list[float]) -> float:
        if not self.learned:
            return 1.0 - features[0]
        if self._fitted is None or self._fitted_on != len(self.examples):
            from sklearn.linear_model import LogisticRegression
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            x = np.array([f for f, _ in self.examples])
            y = np.array([false for _, false in self.examples])
            # features on one scale, so that the default regularisation weighs them alike
            self._fitted = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
            self._fitted_on = len(self.examples)
        return float(self._fitted.predict_proba(np.array([features]))[0, 1])


def crop_frames(track_frames: Mapping[int, float], n: int = CROPS) -> tuple[int, ...]:
    """The frames a track pick shows: the track's first and last unverified frames, then its
    least sure ones (highest box score), at most `n`."""
    frames = sorted(track_frames)
    chosen = {frames[0], frames[-1]}
    for f in sorted(frames, key=lambda f: -track_frames[f]):
        if len(chosen) >= n:
            break
        chosen.add(f)
    return tuple(sorted(chosen))


def rank_tracks(frames: Mapping[int, FrameState], boxes_of: Mapping[int, Sequence[Box]],
                model: TrackErrorModel, size: tuple[float, float] = (1.0, 1.0)
                ) -> list[tuple[float, float, int, tuple[int, ...]]]:
    """(value, P(false), track, crop frames) for every track with unverified boxes on unverified
    frames and no verified box, best first. Value is the expected number of false boxes a
    deletion removes per second of looking: P(false) x unverified boxes / crops."""
    unverified: dict[int, dict[int, float]] = {}
    for f, state in frames.items():
        for b in state.boxes:
            if not b.verified:
                unverified.setdefault(b.track_id, {})[f] = b.score
    out = []
    for track, scores in unverified.items():
        boxes = boxes_of.get(track, ())
        if not boxes or any(b.verified for b in boxes):
            continue   # a person has already confirmed this track somewhere: not a false track
        p = model.p_false(track_features(boxes, *size))
        crops = crop_frames(scores)
        out.append((p * len(scores) / len(crops), p, track, crops))
    out.sort(key=lambda r: (-r[0], r[2]))
    return out


def rank_candidates(boxes_of: Mapping[int, Sequence[Box]], model: TrackErrorModel,
                    size: tuple[float, float] = (1.0, 1.0)) -> list[tuple[float, float, int, tuple[int, ...]]]:
    """(value, P(real), track, crop frames) for every candidate track in `boxes_of`, best first.
    Value is the boxes a confirmation makes annotation per second of looking: P(real) x boxes /
    crops. The crops are the track's ends and its least confident boxes."""
    out = []
    for track, boxes in boxes_of.items():
        doubt = {b.frame: 1.0 - b.confidence for b in boxes if not b.outside}
        if not doubt:
            continue
        p = 1.0 - model.p_false(track_features(boxes, *size))
        crops = crop_frames(doubt)
        out.append((p * len(doubt) / len(crops), p, track, crops))
    out.sort(key=lambda r: (-r[0], r[2]))
    return out


def similar_false(tracks: Sequence[tuple[float, float, int, tuple[int, ...]]],
                  candidates: Sequence[tuple[float, float, int, tuple[int, ...]]],
                  n: int = GROUP) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """The "delete all similar" pick: (track, crop frames) for up to `n` tracks the learned model
    thinks more likely false than not, most likely first, or nothing if fewer than two are.

    `tracks` are `rank_tracks` rows (P(false)), `candidates` `rank_candidates` rows (P(real)):
    call it only once the model is learned, since before that P(false) is the track's own
    confidence, not what the person's deletions taught. Each track is shown at its two ends
    only (a track pick's first and last crops): a track on nothing the guideline wants is so at
    both ends, and a track that grows into a wanted object (a person walking towards the
    camera) shows it at one of them and is kept. One decision then settles all of them, where a
    track pick each would cost its middle crops and a delete of its own."""
    rows = [(p, t, crops) for _, p, t, crops in tracks] + [(1.0 - p, t, crops) for _, p, t, crops in candidates]
    chosen = sorted((r for r in rows if r[0] > 0.5), key=lambda r: (-r[0], r[1]))[:n]
    if len(chosen) < 2:
        return ()
    return tuple((t, tuple(sorted({crops[0], crops[-1]}))) for _, t, crops in chosen)


class LearnsTracks:
    """The review session's part that learns which tracks are false: a mixin before `Editor`
    that records the person's track verdicts. A verdict on a track that stays is only noted
    (an edit runs on the person's thread); its features are read when tracks are next ranked,
    from the boxes the ranking loads anyway. A deleted track's features are read before it goes."""

    project: Project

    def __init__(self, project: Project) -> None:
        super().__init__(project)  # type: ignore[call-arg]
        self.track_model = TrackErrorModel()
        self._verdicts: list[tuple[int, bool]] = []   # (track, false?) not yet in the model

    def _size(self) -> tuple[float, float]:
        ref = self.project.video
        return (ref.width, ref.height) if ref is not None else (1.0, 1.0)

    def _rank_tracks(self, frames: Mapping[int, FrameState]) -> list[tuple[float, float, int, tuple[int, ...]]]:
        boxes: dict[int, list[Box]] = {}
        for b in self.project.boxes():
            boxes.setdefault(b.track_id, []).append(b)
        self._learn(boxes)
        return rank_tracks(frames, boxes, self.track_model, self._size())

    def _rank_candidates(self) -> list[tuple[float, float, int, tuple[int, ...]]]:
        """The candidate tracks as track picks (`rank_candidates`), with what verdicts taught."""
        tracks = self.project.candidate_tracks()
        verdicts = {t for t, _ in self._verdicts} - tracks
        boxes = {t: self.project.boxes(track_id=t) for t in sorted(tracks | verdicts)}
        self._learn(boxes)
        return rank_candidates({t: boxes[t] for t in sorted(tracks)}, self.track_model, self._size())

    def _learn(self, boxes: Mapping[int, Sequence[Box]]) -> None:
        """Verdicts noted since the last ranking become examples, read from `boxes`."""
        verdicts, self._verdicts = self._verdicts, []
        for track, false in verdicts:
            if boxes.get(track):
                self.track_model.observe(track_features(boxes[track], *self._size()), false)

    def delete_track(self, track_id: int, shown: int = 1) -> Edit:
        """The track is false: an example for the model, then `Editor.delete_track`."""
        features = track_features(self.project.boxes(track_id=track_id), *self._size())
        self.track_model.observe(features, True)
        return super().delete_track(track_id, shown)  # type: ignore[misc]

    def delete_tracks(self, track_ids: Sequence[int], shown: int = 1) -> Edit:
        """Several false tracks at once ("delete all similar"): examples for the model, then
        `Editor.delete_tracks`."""
        for track in track_ids:
            self.track_model.observe(track_features(self.project.boxes(track_id=track), *self._size()), True)
        return super().delete_tracks(track_ids, shown)  # type: ignore[misc]

    def delete_box(self, box_id: int) -> Edit:
        """A machine box deleted on a frame review (a duplicate, or on nothing the guideline
        wants): its track is an example of a false one too, so track picks can take the rest."""
        box = self.project.box(box_id)
        if box is not None and not box.verified:
            self._verdicts.append((box.track_id, True))
        return super().delete_box(box_id)  # type: ignore[misc]

    def accept_stretch(self, track_id: int, frames: list[int]) -> Edit:
        """The track is real: an example for the model."""
        self._verdicts.append((track_id, False))
        return super().accept_stretch(track_id, frames)  # type: ignore[misc]

    def accept_frame(self, frame: int, shown_candidates: Iterable[int] = ()) -> Edit:
        """Every track with a box on an accepted frame is real there: examples for the model."""
        edit = super().accept_frame(frame, shown_candidates)  # type: ignore[misc]
        self._verdicts += [(track, False) for track in edit.track_ids]
        return edit
