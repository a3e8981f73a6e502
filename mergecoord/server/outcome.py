"""What became of one queue entry: `MergeOutcome`, the record every step of the runner
hands on (an entry kind's `prepare`, the resolution, verification, landing, the
follow-up steps) and the journal keeps the plain fields of.

Plain data below all its users: it imports nothing of mergecoord.
"""

from dataclasses import dataclass, field


@dataclass
class MergeOutcome:
    # ready (prepared, not landed yet) | merged | escalated | failed | rejected | up-to-date | withdrawn | requeued
    status: str
    commit: str = ""
    resolved_by: str = ""            # clean | consensus | learned | human
    conflicts: list = field(default_factory=list)
    detail: str = ""
    rounds: int = 0
    confidence: float = 0.0
    tree: bytes = b""                # the tree to commit, when status is "ready"
    merge: object = None             # the MergeResult the outcome was computed from
    files: list = field(default_factory=list)        # FileConflicts of the text conflicts
    context: object = None           # the panel's ConflictContext
    panel: object = None             # the PanelOutcome, when the panel sat
    transcript: str = ""
    resolutions: dict = field(default_factory=dict)  # path -> resolved text
    verify_output: str = ""
    decision: str = ""               # the decision id, when escalated or applying one
    reason: dict = field(default_factory=dict)       # why it ends the entry, finer than the status (`reasons`)
