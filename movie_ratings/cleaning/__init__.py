"""Cleaning a snapshot: extract (:mod:`.parse`), validate (:mod:`.validate`), clean (:mod:`.clean`).

:mod:`.snapshot` runs the three on a whole snapshot; each step returns the records it
rejects (:mod:`.rejects`). The Prefect task is ``tasks.clean.clean_snapshot_task``.
"""
