"""Stage 1, pre-labelling: the YOLO detector, offline linking of detections into tracks, and the
pipeline that stores both in a project.

May import: `vidlabel.propagation` (gap filling between detections), `vidlabel.store`,
`vidlabel.video` and the data model. Never the review stage, formats, simulation, commands or
the GUI. Ultralytics and torch load only when a `Detector` is built.
"""
