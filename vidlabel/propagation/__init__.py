"""Stage 2, propagation: OpenCV single-object trackers, pure propagation between keyframes, and
the scheduler that re-propagates a track in the background after a correction.

May import: `vidlabel.store`, `vidlabel.video`, `vidlabel.weights` and the data model. Pure
propagation (`propagate.py`) returns values and writes nothing; only the scheduler writes.
"""
