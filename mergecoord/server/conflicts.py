"""Git's conflicts as the panel reads them: the FileConflict (base, both sides, git's
hunks) of every text conflict of a merge, derived from git's own conflicted file.

Only what git calls a conflict is a conflict here, and only hunks read back faithfully
from git's markers are used; anything else (binary, not UTF-8, a rename or delete
conflict) is for a human. Reads objects; never writes anything.
"""

from ..merge.engine import marked_texts
from ..panel.hunks import from_markers


def conflict_files(store, merge):
    """FileConflicts for the content conflicts of `merge`, with git's hunks; None if any
    conflict is not plain text edited on both sides, or git's hunks of a file cannot be
    derived faithfully (those are for a human)."""
    if not all(c.textual for c in merge.conflicts):
        return None
    marked = marked_texts(store, merge)
    files = []
    for c in merge.conflicts:
        conflict = file_of(store, c, marked.get(c.path))
        if conflict is None:
            return None
        files.append(conflict)
    return files


def file_of(store, conflict, marked):
    """The FileConflict of one text conflict from git's conflicted file `marked` (bytes),
    or None when it is not UTF-8 text or its hunks cannot be read back faithfully."""
    if marked is None:
        return None
    texts = []
    for data in [store[s.sha].data if s else b"" for s in (conflict.base, conflict.ours, conflict.theirs)] + [marked]:
        if b"\0" in data[:8000]:
            return None
        try:
            texts.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            return None
    derived = from_markers(conflict.path, *texts)
    if derived is None or not derived.hunks:
        return None     # git calls it conflicted: never "no conflict" downstream
    return derived
