"""Stage 0, the store: one SQLite project file per video (schema, action log, undo/redo, tables).

May import: `vidlabel.datamodel`, `vidlabel.errors`, `vidlabel.video`. Everything above reads and
writes a project through the `Project` facade (`store.project`), built from these modules:

- `store.project`: the `Project` facade: create, open (checks, write lock, migrate), close.
- `store.schema`: the file format: schema SQL, log and guard triggers, migrations, header checks.
- `store.log`: the action log: transactions, actions, undo and redo (`ActionLog`, `Action`).
- `store.annotations`: what actions write: video, classes, tracks, boxes, ignore regions, frames.
- `store.derived`: the data written outside the log: box and frame scores, raw detections.
- `store.files`: creates, opens and relinks project files with their videos.
"""
