"""Seeded generator of random git histories, for the differential test against C git.

Builds commits straight into a repository's object store with dulwich (fast: no
subprocess per commit) from in-memory snapshots, applying random operations: text edits
(often close together, to provoke adjacent-line conflicts), adds, deletes, renames with and
without edits, moves between directories, whole-directory renames, mode changes,
symlinks, binary files, type changes, gitlinks, file/directory swaps; and merge commits
(trees from ``git merge-tree``) that produce criss-cross histories.  Test support only.
"""
from __future__ import annotations

import random
import subprocess

from dulwich.index import commit_tree
from dulwich.objects import Blob, Commit

REG, EXE, LINK, GITLINK = 0o100644, 0o100755, 0o120000, 0o160000
_WORDS = ["alpha", "beta", "gamma", "delta", "return x", "}", "", "if (x) {", "end", "log()"]
_DIRS = [b"src", b"src/core", b"docs", b"lib", b"lib/util", b"tests", b""]


class HistoryGenerator:
    def __init__(self, repo, seed: int, git_env: dict | None = None):
        self.repo = repo
        self.rng = random.Random(seed)
        self.env = git_env
        self.snapshots: dict = {}  # commit id -> {path: (mode, bytes)}
        self.commits: list = []
        self.time = 1_600_000_000
        self.counter = 0

    # -- content ----------------------------------------------------------------
    def _line(self) -> bytes:
        r = self.rng
        if r.random() < 0.2:
            return (r.choice(_WORDS) + "\n").encode()
        self.counter += 1
        return f"{r.choice(_WORDS)} {self.counter}\n".encode()

    def _text(self, lo=3, hi=20) -> bytes:
        return b"".join(self._line() for _ in range(self.rng.randint(lo, hi)))

    def _edit_text(self, data: bytes) -> bytes:
        lines = data.splitlines(keepends=True)
        for _ in range(self.rng.randint(1, 3)):
            pos = self.rng.randint(0, len(lines))
            drop = self.rng.randint(0, 2)
            new = [self._line() for _ in range(self.rng.randint(0 if drop else 1, 2))]
            lines[pos:pos + drop] = new
        if self.rng.random() < 0.03 and lines:
            lines[-1] = lines[-1].rstrip(b"\n")  # no newline at end of file
        return b"".join(lines)

    def _new_path(self, snap) -> bytes:
        r = self.rng
        while True:
            d = r.choice(_DIRS + [p.rsplit(b"/", 1)[0] for p in snap if b"/" in p][:5])
            name = f"f{r.randint(0, 60)}{r.choice(['.c', '.txt', '.md', ''])}".encode()
            path = d + b"/" + name if d else name
            if path not in snap and not any(p.startswith(path + b"/") for p in snap) \
                    and not any(path.startswith(p + b"/") for p in snap):
                return path

    # -- operations --------------------------------------------------------------
    def _op(self, snap: dict) -> None:
        r = self.rng
        texts = [p for p, (m, _) in snap.items() if m in (REG, EXE) and b"\0" not in snap[p][1]]
        ops = ["edit"] * 8 + ["add"] * 2 + ["delete", "rename", "rename", "move", "dirrename",
                                            "chmod", "chmod", "symlink", "symlink", "binary",
                                            "binary", "type", "gitlink", "gitlink", "filedir"]
        op = r.choice(ops)
        if op == "edit" and texts:
            # most edits go to a few "hot" files, so that branches collide on them
            p = r.choice(sorted(texts)[:4] if r.random() < 0.5 else texts)
            snap[p] = (snap[p][0], self._edit_text(snap[p][1]))
        elif op == "add" or not snap:
            path = self._new_path(snap)
            if r.random() < 0.3:  # a well-known name, so that both sides may add it
                path = r.choice([b"NEWS", b"src/new.c", b"docs/added.md"])
                if any(p.startswith(path + b"/") or path.startswith(p + b"/") for p in snap):
                    path = self._new_path(snap)
            snap[path] = (REG, self._text(1, 6))
        elif op == "delete":
            del snap[r.choice(sorted(snap))]
        elif op in ("rename", "move") and texts:
            src = r.choice(texts)
            mode, data = snap.pop(src)
            if op == "rename":
                d = src.rsplit(b"/", 1)[0] + b"/" if b"/" in src else b""
                dst = d + f"r{r.randint(0, 99)}.c".encode()
                if dst in snap or any(p.startswith(dst + b"/") for p in snap):
                    dst = self._new_path(snap)
            else:
                dst = self._new_path(snap)
            if r.random() < 0.4:
                data = self._edit_text(data)
            snap[dst] = (mode, data)
        elif op == "dirrename":
            dirs = sorted({p.rsplit(b"/", 1)[0] for p in snap if b"/" in p})
            if dirs:
                old = r.choice(dirs)
                new = old + b"_" + str(r.randint(0, 9)).encode()
                if not any(p.startswith(new + b"/") or p == new for p in snap):
                    for p in [p for p in snap if p.startswith(old + b"/")]:
                        snap[new + p[len(old):]] = snap.pop(p)
        elif op == "chmod" and texts:
            p = r.choice(sorted(texts)[:4] if r.random() < 0.5 else texts)
            snap[p] = (EXE if snap[p][0] == REG else REG, snap[p][1])
        elif op == "symlink":
            links = [p for p, (m, _) in snap.items() if m == LINK]
            target = f"target{r.randint(0, 5)}".encode()
            snap[r.choice(links) if links and r.random() < 0.85 else self._new_path(snap)] = \
                (LINK, target)
        elif op == "binary":
            bins = [p for p, (m, d) in snap.items() if m == REG and b"\0" in d]
            p = r.choice(bins) if bins and r.random() < 0.85 else self._new_path(snap)
            snap[p] = (REG, b"BIN\0" + bytes(r.randrange(256) for _ in range(40)))
        elif op == "type" and snap:
            p = r.choice(sorted(snap))
            if snap[p][0] == LINK:
                snap[p] = (REG, self._text())
            elif snap[p][0] in (REG, EXE):
                snap[p] = (LINK, b"target")
        elif op == "gitlink":
            subs = [p for p, (m, _) in snap.items() if m == GITLINK]
            p = r.choice(subs) if subs and r.random() < 0.85 else self._new_path(snap)
            snap[p] = (GITLINK, bytes(r.randrange(256) for _ in range(20)).hex().encode())
        elif op == "filedir" and texts:
            p = r.choice(texts)
            mode, data = snap.pop(p)
            snap[p + b"/moved"] = (mode, data)

    # -- commits -----------------------------------------------------------------
    def _tree(self, snap: dict) -> bytes:
        store = self.repo.object_store
        entries = []
        for path, (mode, data) in snap.items():
            if mode == GITLINK:
                entries.append((path, data, mode))
                continue
            blob = Blob.from_string(data)
            store.add_object(blob)
            entries.append((path, blob.id, mode))
        return commit_tree(store, entries)

    def _commit(self, tree: bytes, parents: list, snap: dict) -> bytes:
        c = Commit()
        c.tree = tree
        c.parents = parents
        c.author = c.committer = b"Gen <gen@example.invalid>"
        self.time += 60
        c.author_time = c.commit_time = self.time
        c.author_timezone = c.commit_timezone = 0
        c.message = b"generated %d\n" % len(self.commits)
        self.repo.object_store.add_object(c)
        self.snapshots[c.id] = snap
        self.commits.append(c.id)
        return c.id

    def _git_merge_tree(self, a: bytes, b: bytes) -> bytes:
        out = subprocess.run(["git", "merge-tree", "--write-tree", a.decode(), b.decode()],
                             cwd=self.repo.path, env=self.env, capture_output=True)
        return out.stdout.split(b"\n", 1)[0]

    def _snapshot_of_tree(self, tree: bytes) -> dict:
        from .trees import all_blobs
        store = self.repo.object_store
        snap = {}
        for path, (mode, sha) in all_blobs(store, tree).items():
            snap[path] = (mode, sha if mode == GITLINK else store[sha].as_raw_string())
        return snap

    def generate(self, n_commits: int = 40, merge_rate: float = 0.15) -> list:
        root = {b"assets/logo.bin": (REG, b"PNG\0" + bytes(range(40))),
                b"docs/current": (LINK, b"v1")}
        for _ in range(self.rng.randint(10, 25)):
            root[self._new_path(root)] = (REG, self._text())
        self._commit(self._tree(root), [], root)
        while len(self.commits) < n_commits:
            r = self.rng
            if len(self.commits) > 4 and r.random() < merge_rate:
                a, b = r.sample(self.commits[-12:], 2)
                tree = self._git_merge_tree(a, b)
                if len(tree) == 40:
                    snap = self._snapshot_of_tree(tree)
                    self._commit(tree, [a, b], snap)
                    if r.random() < 0.5:  # the mirror merge too: a criss-cross
                        self._commit(tree, [b, a], dict(snap))
                continue
            parent = r.choice(self.commits[-8:]) if r.random() < 0.8 else r.choice(self.commits)
            snap = dict(self.snapshots[parent])
            for _ in range(r.randint(1, 3)):
                self._op(snap)
            self._commit(self._tree(snap), [parent], snap)
        return self.commits

    def pairs(self, n: int) -> list:
        out = []
        for _ in range(n):
            out.append(tuple(self.rng.sample(self.commits, 2)))
        return out
