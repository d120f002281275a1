"""Stage 0, the store: one SQLite project file per video (schema, action log, undo/redo, tables).

May import: `vidlabel.datamodel`, `vidlabel.errors`, `vidlabel.video`. Everything above reads and
writes a project through the `Project` facade (`store.project`); `store.files` creates, opens
and relinks project files.
"""
