"""Every merge mergecoord makes is computed by git: ``git merge-tree --write-tree -z``.

One merge truth. git's merge-ort decides what is clean and what conflicts, which paths
conflict and of which kind, and writes the merged tree (conflicted text files carry
conflict markers). This module runs it and turns its output into plain data: a
`MergeResult` holding the tree id and one `PathConflict` per conflicted path, with the stage 1/2/3 entries as `Side`s. The
verdict, the conflicted paths and the tree are those of plain ``git merge-tree
--write-tree``; the panel's hunks come from a second run, only for a conflicted merge,
with ``merge.conflictStyle=diff3`` (`marked_texts`), so they carry the base text.
Reading objects, writing resolved blobs and trees, commits and refs stay with dulwich, in
process.

git runs with a clean environment: no inherited ``GIT_*`` variable (a hook's GIT_DIR,
quarantine or object-directory settings must not steer it), messages in the C locale, the
repository named by ``--git-dir``. In a bare repository git 2.39 takes attributes only from
the server's own files (``info/attributes``, ``core.attributesFile``), never from a pushed
``.gitattributes``, so pushed content cannot pick a merge driver or mark files binary.

Paths are bytes in git. They are carried as ``str`` decoded with ``surrogateescape`` (the
convention of ``os.fsdecode``): lossless, ``path_bytes`` gives the exact bytes back, and
``untrusted.printable`` shows a byte that is not UTF-8 as ``\\xNN``.

Conflict kinds (``PathConflict.kind``), from git's conflict types:
  content         both sides edited a text file incompatibly (markers are in the tree)
  add/add         both sides added a text file with different contents (markers in the tree)
  binary          both sides changed a file git will not merge as text; ours kept
  submodule       both sides moved a gitlink differently
  type            file vs symlink vs submodule on the two sides (git: distinct types)
  modify/delete, rename/delete, rename/rename, file/directory, and the directory-rename
  kinds git reports ("file location", "directory rename split", ...): where or whether a
  file exists. Only ``content`` and ``add/add`` conflicts are resolved hunk by hunk.
Never touches refs or the work tree; never lets pushed content configure git.
"""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass

__all__ = ["Side", "PathConflict", "MergeResult", "MergeError", "merge_bases", "merge_commits",
           "merge_trees", "merge_texts", "marked_texts", "path_bytes", "git_version", "MIN_GIT"]

MIN_GIT = (2, 38)     # `git merge-tree --write-tree` arrived in 2.38
# diff3, not zdiff3, for the hunks: a diff3 region is exactly the base lines both sides
# replaced, so choosing "base" restores them. Neither style is used for the verdict: both
# keep as conflicts some regions git's default style resolves (identical edits aligned
# differently), and the default style is what `git merge` decides.
CONFLICT_STYLE = "diff3"


class MergeError(RuntimeError):
    """git could not compute the merge (a missing object, a git that is too old...)."""


@dataclass(frozen=True)
class Side:
    path: str      # path of the entry (the conflicted path: git lists stages at the merged path)
    mode: int
    sha: bytes     # 40-char hex id as bytes (dulwich convention)


@dataclass(frozen=True)
class PathConflict:
    path: str            # the conflicted path, as `git merge-tree --name-only` lists it
    kind: str            # see the module docstring
    base: Side | None    # stage 1
    ours: Side | None    # stage 2
    theirs: Side | None  # stage 3

    @property
    def textual(self) -> bool:
        """Both sides hold a file whose lines conflict: resolvable hunk by hunk (by the
        panel or a human's per-hunk choice). Every other kind is about where or whether a
        file exists, and only a whole side can settle it."""
        return self.kind in ("content", "add/add") and bool(self.ours and self.theirs)


@dataclass(frozen=True)
class MergeResult:
    tree: bytes
    conflicts: tuple[PathConflict, ...]
    bases: tuple[bytes, ...]
    messages: tuple[str, ...] = ()   # git's informational messages, as it printed them
    commits: tuple[bytes, ...] = ()  # the two commits git merged (for `marked_texts`)

    @property
    def clean(self) -> bool:
        return not self.conflicts

    @property
    def conflicted_paths(self) -> tuple[str, ...]:
        """Sorted distinct conflicted paths (what ``git merge-tree --name-only`` lists)."""
        return tuple(sorted({c.path for c in self.conflicts if c.base or c.ours or c.theirs}))


def path_bytes(path: str) -> bytes:
    """The exact bytes of a path carried as str (the inverse of how git's bytes were read)."""
    return path.encode("utf-8", "surrogateescape")


def _decode(path: bytes) -> str:
    return path.decode("utf-8", "surrogateescape")


# -- running git ----------------------------------------------------------------

def git_env() -> dict:
    """The environment git runs in: ours, without any GIT_* variable, in the C locale."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.pop("LANGUAGE", None)
    env["LC_ALL"] = "C"
    return env


def _git(git_dir, *args, ok=(0,)):
    proc = subprocess.run(["git", "--git-dir", os.fspath(git_dir), *args], env=git_env(),
                          stdin=subprocess.DEVNULL, capture_output=True)
    if proc.returncode not in ok:
        why = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MergeError(f"git {args[0]} failed ({proc.returncode}): {why[0] if why else 'no message'}")
    return proc


def git_version() -> tuple[tuple[int, ...], str]:
    """((major, minor, patch), the text git printed); ((), reason) when git cannot run."""
    try:
        out = subprocess.run(["git", "--version"], env=git_env(), capture_output=True,
                             stdin=subprocess.DEVNULL).stdout.decode("utf-8", "replace").strip()
    except OSError as e:
        return (), f"git cannot run ({e.strerror})"
    words = out.split()
    numbers = []
    if len(words) >= 3:
        for part in words[2].split(".")[:3]:
            digits = "".join(c for c in part if c.isdigit()) if part[:1].isdigit() else ""
            if not digits:
                break
            numbers.append(int(digits))
    return tuple(numbers), out or "no version"


def _git_dir(object_store) -> str:
    path = getattr(object_store, "path", None)
    if not path:
        raise MergeError("git computes merges: the object store must be a repository on disk")
    return os.path.dirname(os.path.abspath(path))


# -- the merge --------------------------------------------------------------------

_KINDS = {  # git's conflict type (merge-ort's untranslated short description) -> our kind
    "CONFLICT (contents)": "content",
    "CONFLICT (binary)": "binary",
    "CONFLICT (file/directory)": "file/directory",
    "CONFLICT (distinct modes)": "type",
    "CONFLICT (modify/delete)": "modify/delete",
    "CONFLICT (rename/rename)": "rename/rename",
    "CONFLICT (rename involved in collision)": "rename collision",
    "CONFLICT (rename/delete)": "rename/delete",
    "CONFLICT (directory rename suggested)": "file location",
    "CONFLICT (file in way of directory rename)": "directory rename",
    "CONFLICT(directory rename collision)": "directory rename",
    "CONFLICT(directory rename unclear split)": "directory rename split",
}


def _kind_of(conflict_type: str) -> str:
    if conflict_type in _KINDS:
        return _KINDS[conflict_type]
    if "submodule" in conflict_type:
        return "submodule"
    return conflict_type.replace("CONFLICT", "").strip(" ()").lower() or "unknown"


def parse_merge_tree(output: bytes, status: int) -> tuple[bytes, list, list]:
    """(tree id, conflicts, messages) from `git merge-tree --write-tree -z` output.

    The output is: the tree id; one ``<mode> <oid> <stage>\\t<path>`` record per
    conflicted stage; an empty record; then per message ``<n>``, n paths, the conflict
    type and the message. A merge git calls unclean is never returned without a conflict:
    a conflict message naming no staged path (a directory rename split) becomes a
    conflict of its own, and an unclean merge with nothing to show is a MergeError.
    """
    fields = output.split(b"\0")
    tree = fields[0].strip()
    if len(tree) != 40:
        raise MergeError("git merge-tree printed no tree id")
    stages: dict[bytes, dict[int, Side]] = {}
    i = 1
    while i < len(fields) and fields[i]:
        info, _, path = fields[i].partition(b"\t")
        mode, oid, stage = info.split(b" ")
        stages.setdefault(path, {})[int(stage)] = Side(_decode(path), int(mode, 8), oid)
        i += 1
    i += 1
    kinds: dict[bytes, str] = {}
    unstaged: list[tuple[bytes, str]] = []
    messages = []
    while i < len(fields):
        count = fields[i]
        if not count.isdigit() or i + int(count) + 2 >= len(fields):
            break      # the free text git may print after the last message
        n = int(count)
        paths = fields[i + 1:i + 1 + n]
        ctype = fields[i + 1 + n].decode("utf-8", "replace")
        messages.append(fields[i + 2 + n].decode("utf-8", "surrogateescape").rstrip("\n"))
        i += n + 3
        if not ctype.startswith("CONFLICT"):
            continue
        kind = _kind_of(ctype)
        if not any(p in stages for p in paths) and paths:
            unstaged.append((paths[0], kind))
        for p in paths:
            # the first conflict that is not about contents names the path's kind
            if kinds.get(p) in (None, "content"):
                kinds[p] = kind
    conflicts = []
    for path, side in sorted(stages.items()):
        base, ours, theirs = side.get(1), side.get(2), side.get(3)
        kind = kinds.get(path) or ("content" if ours and theirs else "unknown")
        if kind == "content":
            if any(s.mode == 0o160000 for s in side.values()):
                kind = "submodule"
            elif base is None:
                kind = "add/add"
        conflicts.append(PathConflict(_decode(path), kind, base, ours, theirs))
    seen = {c.path for c in conflicts}
    for path, kind in unstaged:
        if _decode(path) not in seen:
            seen.add(_decode(path))
            conflicts.append(PathConflict(_decode(path), kind, None, None, None))
    if status == 1 and not conflicts:
        raise MergeError("git merge-tree reported conflicts it did not name")
    if status == 0 and conflicts:
        raise MergeError("git merge-tree named conflicts in a clean merge")
    return tree, conflicts, messages


def _merge_tree(git_dir, ours: bytes, theirs: bytes, style=()) -> MergeResult:
    proc = _git(git_dir, *style, "merge-tree", "--write-tree", "-z", ours.decode("ascii"),
                theirs.decode("ascii"), ok=(0, 1))
    tree, conflicts, messages = parse_merge_tree(proc.stdout, proc.returncode)
    return MergeResult(tree, tuple(conflicts), (), tuple(messages), (ours, theirs))


def marked_texts(object_store, result: MergeResult) -> dict:
    """{path: the conflicted file git writes with base-showing (diff3) markers} for the
    text conflicts of `result`; a path is missing when that run did not conflict on it."""
    from dulwich.object_store import tree_lookup_path

    wanted = [c for c in result.conflicts if c.textual]
    if not wanted or len(result.commits) != 2:
        return {}
    again = _merge_tree(_git_dir(object_store), *result.commits,
                        style=("-c", f"merge.conflictStyle={CONFLICT_STYLE}"))
    conflicted = {c.path for c in again.conflicts}
    out = {}
    for c in wanted:
        if c.path not in conflicted:
            continue
        try:
            _mode, sha = tree_lookup_path(object_store.__getitem__, again.tree, path_bytes(c.path))
        except KeyError:
            continue
        out[c.path] = object_store[sha].as_raw_string()
    return out


def merge_bases(object_store, ours: bytes, theirs: bytes) -> tuple[bytes, ...]:
    """Every merge base of two commits (git merge-base --all); () when unrelated."""
    proc = _git(_git_dir(object_store), "merge-base", "--all", ours.decode("ascii"),
                theirs.decode("ascii"), ok=(0, 1))
    return tuple(line.encode("ascii") for line in proc.stdout.decode("ascii").split())


def merge_commits(object_store, ours: bytes, theirs: bytes) -> MergeResult:
    """Merge two commits the way `git merge` would (merge-ort over their merge bases).

    `bases` is filled only for a conflicted merge (the panel reads who last touched a
    file since the base); a clean merge costs one git process.
    """
    result = _merge_tree(_git_dir(object_store), ours, theirs)
    if result.clean:
        return result
    return MergeResult(result.tree, result.conflicts, merge_bases(object_store, ours, theirs),
                       result.messages, result.commits)


def merge_trees(object_store, base_tree, ours_tree: bytes, theirs_tree: bytes) -> MergeResult:
    """Three-way merge of trees over an explicit base (None: no common content).

    git 2.39's merge-tree takes commits and finds their base itself, so the trees go into
    throwaway commits whose only common ancestor holds `base_tree`. The commits are
    unreferenced objects; ``git gc`` prunes them.
    """
    from dulwich.objects import Commit, Tree

    if base_tree is None:
        empty = Tree()
        object_store.add_object(empty)
        base_tree = empty.id
    root = _commit(object_store, base_tree, [], Commit)
    ours = _commit(object_store, ours_tree, [root], Commit)
    theirs = _commit(object_store, theirs_tree, [root], Commit)
    return _merge_tree(_git_dir(object_store), ours, theirs)


def _commit(store, tree, parents, Commit):
    commit = Commit()
    commit.tree = tree
    commit.parents = parents
    commit.author = commit.committer = b"mergecoord <mergecoord@localhost>"
    commit.author_time = commit.commit_time = 0
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = b"mergecoord: a side of a merge\n"
    store.add_object(commit)
    return commit.id


# -- three texts -------------------------------------------------------------------

_SCRATCH = {}
_SCRATCH_LOCK = threading.Lock()


def scratch_store():
    """A throwaway bare repository for merges of texts that belong to no repository
    (tests, the built-in corpus, a human's side rendered from three texts). One per
    process, removed at exit."""
    with _SCRATCH_LOCK:
        repo = _SCRATCH.get(os.getpid())
        if repo is None:
            from dulwich.repo import Repo

            _remove_orphans()
            path = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
            repo = _SCRATCH[os.getpid()] = Repo.init_bare(path)
            atexit.register(_remove, repo, path)
        return repo.object_store


SCRATCH_PREFIX = "mergecoord-merge-"


def _remove_orphans():
    """Remove the scratch repositories of our processes that died without reaching their
    exit handler (a runner killed with SIGKILL): the directory names their pid."""
    from ..state.files import alive

    temp = tempfile.gettempdir()
    for name in os.listdir(temp):
        pid = name[len(SCRATCH_PREFIX):].partition("-")[0]
        if not name.startswith(SCRATCH_PREFIX) or not pid.isdigit() or alive(int(pid)):
            continue
        path = os.path.join(temp, name)
        try:
            if os.lstat(path).st_uid == os.getuid() and os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


def _remove(repo, path):
    repo.close()
    shutil.rmtree(path, ignore_errors=True)


def merge_texts(base: bytes, ours: bytes, theirs: bytes, object_store=None):
    """git's merge of one file's three versions: (MergeResult, merged bytes). A conflicted
    file comes with diff3 markers (`marked_texts`).

    The file is named ``file`` in every tree (no attribute of the real path applies);
    `base` b"" and absent are the same to git's line merge.
    """
    from dulwich.objects import Blob, Tree

    store = object_store if object_store is not None else scratch_store()
    trees = []
    for data in (base, ours, theirs):
        blob = Blob.from_string(data)
        tree = Tree()
        tree.add(b"file", 0o100644, blob.id)
        store.add_objects([(blob, None), (tree, None)])
        trees.append(tree.id)
    result = merge_trees(store, *trees)
    if not result.clean:
        marked = marked_texts(store, result).get("file")
        if marked is not None:
            return result, marked
    return result, store[store[result.tree][b"file"][1]].as_raw_string()
