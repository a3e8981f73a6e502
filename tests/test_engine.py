"""Targeted cases of the merge engine: each one a situation git resolves in a known way."""
import subprocess

import pytest
from dulwich.objects import Blob, Commit
from dulwich.object_store import MemoryObjectStore
from dulwich.repo import Repo

from mergecoord.merge import PathConflict, Side, merge_bases, merge_commits, merge_trees
from mergecoord.merge.difftest import compare, git_env
from mergecoord.merge.lines import merge_lines
from mergecoord.merge.trees import all_blobs

REG, EXE, LINK = 0o100644, 0o100755, 0o120000
BASE_TEXT = b"".join(b"line %d\n" % i for i in range(1, 11))


def lines(*pairs):
    """BASE_TEXT with some lines replaced: lines((3, b"three")) ."""
    out = BASE_TEXT.splitlines(keepends=True)
    for n, text in pairs:
        out[n - 1] = text + b"\n"
    return b"".join(out)


class History:
    """Commits built straight into an object store from {path: bytes | (mode, bytes)}."""

    def __init__(self, store=None):
        self.store = store or MemoryObjectStore()
        self.time = 1_600_000_000

    def commit(self, files, *parents):
        from dulwich.index import commit_tree
        entries = []
        for path, value in files.items():
            mode, data = value if isinstance(value, tuple) else (REG, value)
            blob = Blob.from_string(data)
            self.store.add_object(blob)
            entries.append((path.encode(), blob.id, mode))
        c = Commit()
        c.tree = commit_tree(self.store, entries)
        c.parents = list(parents)
        c.author = c.committer = b"T <t@example.invalid>"
        self.time += 60
        c.author_time = c.commit_time = self.time
        c.author_timezone = c.commit_timezone = 0
        c.message = b"c\n"
        self.store.add_object(c)
        return c.id

    def files(self, tree):
        return {p.decode(): self.store[sha].as_raw_string() if mode != 0o160000 else sha
                for p, (mode, sha) in all_blobs(self.store, tree).items()}

    def merge(self, base, ours, theirs):
        b = self.commit(base)
        return merge_commits(self.store, self.commit(ours, b), self.commit(theirs, b))


@pytest.fixture
def h():
    return History()


def test_disjoint_edits_merge_cleanly(h):
    res = h.merge({"a": BASE_TEXT}, {"a": lines((2, b"two"))}, {"a": lines((8, b"eight"))})
    assert res.clean
    assert h.files(res.tree) == {"a": lines((2, b"two"), (8, b"eight"))}


LINE_CASES = {
    "adjacent lines": (lines((4, b"four")), lines((5, b"five"))),
    "same line": (lines((4, b"x")), lines((4, b"y"))),
    "same change": (lines((4, b"x")), lines((4, b"x"))),
    "overlap, common edges": (lines((3, b"c"), (4, b"x"), (5, b"e")),
                              lines((3, b"c"), (4, b"y"), (5, b"e"))),
    "insert at one place": (BASE_TEXT + b"a\n", BASE_TEXT + b"b\n"),
    "delete vs edit": (lines((6, b"six")), BASE_TEXT.replace(b"line 6\n", b"")),
    "no newline at end": (BASE_TEXT + b"x", BASE_TEXT + b"y"),
    "far apart": (lines((1, b"one")), lines((10, b"ten"))),
}


@pytest.mark.parametrize("case", sorted(LINE_CASES))
def test_line_merge_equals_git_merge_file(tmp_path, case):
    """Adjacent edits conflict (xdiff), identical edits do not, markers are narrowed."""
    ours, theirs = LINE_CASES[case]
    for name, data in (("o", ours), ("b", BASE_TEXT), ("t", theirs)):
        (tmp_path / name).write_bytes(data)
    out = subprocess.run(["git", "merge-file", "-p", "-L", "ours", "-L", "base", "-L", "theirs",
                          "o", "b", "t"], cwd=tmp_path, capture_output=True, env=git_env())
    res = merge_lines(BASE_TEXT, ours, theirs)
    assert (res.content, res.conflicts) == (out.stdout, out.returncode)


def test_same_change_on_both_sides_is_clean(h):
    both = lines((3, b"three"))
    res = h.merge({"a": BASE_TEXT}, {"a": both}, {"a": both + b"tail\n"})
    assert res.clean
    assert h.files(res.tree)["a"] == both + b"tail\n"


def test_changelog_style_appends_conflict(h):
    res = h.merge({"NEWS": b"v1\n"}, {"NEWS": b"v1\nfeature A\n"}, {"NEWS": b"v1\nfeature B\n"})
    (c,) = res.conflicts
    assert (c.path, c.kind) == ("NEWS", "content")
    assert b"<<<<<<< ours\nfeature A\n=======\nfeature B\n>>>>>>> theirs\n" in \
        h.files(res.tree)["NEWS"]


def test_content_conflict_carries_the_three_sides(h):
    res = h.merge({"a": BASE_TEXT}, {"a": lines((3, b"ours"))}, {"a": lines((3, b"theirs"))})
    (c,) = res.conflicts
    assert isinstance(c, PathConflict) and c.kind == "content"
    assert [h.store[s.sha].as_raw_string() for s in (c.base, c.ours, c.theirs)] == \
        [BASE_TEXT, lines((3, b"ours")), lines((3, b"theirs"))]
    assert c.ours == Side("a", REG, c.ours.sha)


def test_rename_on_one_side_edit_on_the_other(h):
    res = h.merge({"old/a.c": BASE_TEXT}, {"new/a.c": lines((9, b"nine"))},
                  {"old/a.c": lines((1, b"one"))})
    assert res.clean
    assert h.files(res.tree) == {"new/a.c": lines((1, b"one"), (9, b"nine"))}


def test_rename_and_conflicting_edit_names_both_paths(h):
    res = h.merge({"a.c": BASE_TEXT}, {"b.c": lines((3, b"x"))}, {"a.c": lines((3, b"y"))})
    (c,) = res.conflicts
    assert (c.path, c.kind, c.base.path, c.ours.path, c.theirs.path) == \
        ("b.c", "content", "a.c", "b.c", "a.c")


def test_rename_delete(h):
    res = h.merge({"a": BASE_TEXT, "k": b"k\n"}, {"b": BASE_TEXT, "k": b"k\n"}, {"k": b"k\n"})
    assert [(c.path, c.kind) for c in res.conflicts] == [("b", "rename/delete")]


def test_rename_rename_lists_source_and_both_targets(h):
    res = h.merge({"a": BASE_TEXT}, {"b": BASE_TEXT}, {"c": BASE_TEXT})
    assert res.conflicted_paths == ("a", "b", "c")
    assert {c.kind for c in res.conflicts} == {"rename/rename"}


def test_file_added_in_a_renamed_directory_moves_and_conflicts(h):
    base = {"lib/x": b"x\n", "lib/y": b"y\n"}
    res = h.merge(base, {"src/x": b"x\n", "src/y": b"y\n"}, {**base, "lib/z": b"z\n"})
    assert [(c.path, c.kind) for c in res.conflicts] == [("src/z", "file location")]
    assert "src/z" in h.files(res.tree)


def test_binary_files_never_merge(h):
    res = h.merge({"img": b"\0base"}, {"img": b"\0ours"}, {"img": b"\0theirs"})
    (c,) = res.conflicts
    assert c.kind == "binary" and h.files(res.tree)["img"] == b"\0ours"


def test_modify_delete_keeps_the_modified_file(h):
    res = h.merge({"a": BASE_TEXT}, {}, {"a": lines((1, b"one"))})
    assert [(c.path, c.kind) for c in res.conflicts] == [("a", "modify/delete")]
    assert h.files(res.tree) == {"a": lines((1, b"one"))}


def test_mode_change_and_edit_combine(h):
    res = h.merge({"run": BASE_TEXT}, {"run": (EXE, BASE_TEXT)}, {"run": lines((2, b"2"))})
    assert res.clean
    (mode, _), = all_blobs(h.store, res.tree).values()
    assert mode == EXE


def test_symlink_retargeted_twice_conflicts(h):
    res = h.merge({"l": (LINK, b"a")}, {"l": (LINK, b"b")}, {"l": (LINK, b"c")})
    assert [(c.path, c.kind) for c in res.conflicts] == [("l", "symlink")]


def test_file_against_symlink_is_a_type_conflict(h):
    res = h.merge({"p": BASE_TEXT}, {"p": (LINK, b"t")}, {"p": lines((1, b"1"))})
    assert res.conflicted_paths == ("p", "p~theirs")
    assert {c.kind for c in res.conflicts} == {"type"}


def test_file_in_the_way_of_a_directory_moves_aside(h):
    res = h.merge({"k": b"k\n"}, {"k": b"k\n", "q": b"file\n"}, {"k": b"k\n", "q/x": b"x\n"})
    assert res.conflicted_paths == ("q~ours",)
    assert h.files(res.tree) == {"k": b"k\n", "q~ours": b"file\n", "q/x": b"x\n"}


def test_add_add_different_contents(h):
    res = h.merge({"k": b"k\n"}, {"k": b"k\n", "n": b"one\n"}, {"k": b"k\n", "n": b"two\n"})
    assert [(c.path, c.kind, c.base) for c in res.conflicts] == [("n", "add/add", None)]


def test_merge_trees_without_a_base(h):
    s = h.store
    ours, theirs = h.commit({"a": b"1\n"}), h.commit({"b": b"2\n"})
    res = merge_trees(s, None, s[ours].tree, s[theirs].tree)
    assert res.clean and h.files(res.tree) == {"a": b"1\n", "b": b"2\n"} and res.bases == ()


def test_only_differing_subtrees_are_read(h):
    big = {f"d{i}/f{j}": b"%d %d\n" % (i, j) for i in range(50) for j in range(20)}
    base = h.commit(big)
    ours = h.commit({**big, "d1/f1": b"ours\n"}, base)
    theirs = h.commit({**big, "d2/f2": b"theirs\n"}, base)
    reads = []
    store = h.store

    class Counting:
        def __getitem__(self, sha):
            reads.append(sha)
            return store[sha]

        def add_object(self, obj):
            store.add_object(obj)

    res = merge_commits(Counting(), ours, theirs)
    assert res.clean
    assert len(reads) < 40  # commits, roots, two changed subtrees; not 1000 blobs


# -- against real git -------------------------------------------------------------------
def git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, env=git_env(), check=True,
                          capture_output=True).stdout.decode().strip()


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    return tmp_path


def commit_files(repo, files, msg):
    for path, data in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_bytes(data)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", msg)
    return git(repo, "rev-parse", "HEAD")


def test_criss_cross_uses_all_bases_and_a_virtual_base_like_git(repo):
    commit_files(repo, {"a": BASE_TEXT, "b": BASE_TEXT}, "base")
    git(repo, "checkout", "-q", "-b", "side")
    commit_files(repo, {"a": lines((2, b"side"))}, "side")
    git(repo, "checkout", "-q", "main")
    y = commit_files(repo, {"b": lines((9, b"main"))}, "main")
    git(repo, "merge", "-q", "--no-edit", "side")
    m1 = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "side")
    git(repo, "merge", "-q", "--no-edit", y)
    m2 = commit_files(repo, {"a": lines((2, b"side"), (5, b"five"))}, "side 2")
    git(repo, "checkout", "-q", "main")
    m1 = commit_files(repo, {"b": lines((9, b"main"), (1, b"one"))}, "main 2")
    store = Repo(str(repo)).object_store
    bases = merge_bases(store, m1.encode(), m2.encode())
    assert sorted(bases) == sorted(git(repo, "merge-base", "--all", m1, m2).encode().split())
    assert len(bases) == 2
    c = compare(Repo(str(repo)), m1.encode(), m2.encode())
    assert c.outcome == "match" and c.engine_clean and c.bases == 2


def test_line_merge_agrees_with_git_merge_file_on_random_edits(tmp_path):
    """Seeded fuzz over repetitive lines, where alignment choices decide the verdict."""
    import random
    rng = random.Random(6)
    vocab = [b"a\n", b"b\n", b"}\n", b"\n", b"return x\n"]

    def text(n):
        return [rng.choice(vocab) if rng.random() < 0.6 else b"u%d\n" % rng.randrange(99)
                for _ in range(n)]

    def edit(lines_):
        out = list(lines_)
        for _ in range(rng.randint(1, 3)):
            p = rng.randint(0, len(out))
            out[p:p + rng.randint(0, 2)] = text(rng.randint(0, 2))
        return out

    for _ in range(200):
        base = text(rng.randint(0, 30))
        sides = [b"".join(edit(base)), b"".join(base), b"".join(edit(base))]
        for name, data in zip("obt", sides):
            (tmp_path / name).write_bytes(data)
        out = subprocess.run(["git", "merge-file", "-p", "-L", "ours", "-L", "base", "-L",
                              "theirs", "o", "b", "t"], cwd=tmp_path, capture_output=True,
                             env=git_env())
        res = merge_lines(sides[1], sides[0], sides[2])
        assert (res.content, res.conflicts) == (out.stdout, out.returncode), sides


def test_rename_onto_an_identical_add_keeps_the_other_sides_edit(h):
    # ours renames a -> b; theirs edits a and adds b with a's old content: clean in git
    res = h.merge({"a": BASE_TEXT}, {"b": BASE_TEXT}, {"a": lines((5, b"five")), "b": BASE_TEXT})
    assert res.clean and h.files(res.tree) == {"b": lines((5, b"five"))}


def test_rename_onto_a_different_add_is_add_add(h):
    res = h.merge({"a": BASE_TEXT}, {"b": BASE_TEXT}, {"a": lines((5, b"5")), "b": b"other\n"})
    assert [(c.path, c.kind) for c in res.conflicts] == [("b", "add/add")]
