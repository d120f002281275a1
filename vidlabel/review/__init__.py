"""Stage 3, review: human corrections, uncertainty scoring, the review queue's strategies,
stopping guidance, effort accounting and the `ReviewSession` that ties them together.

May import: `vidlabel.prelabelling` (the committee's second detector), `vidlabel.propagation`,
`vidlabel.store`, `vidlabel.video` and the data model. Never formats, simulation, commands or
the GUI: the simulator drives a session, not the other way round.
"""
