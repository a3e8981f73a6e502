"""The [verify] command runs on a checkout of the merged tree, in a temp dir, with a timeout."""

import os
import time

from dulwich.object_store import MemoryObjectStore
from dulwich.objects import Blob, Tree

from mergecoord.server.verify import run_verify


def make_tree(store, files: dict) -> bytes:
    """files: path -> bytes, or (bytes, mode)."""
    tree = Tree()
    subdirs: dict = {}
    for path, content in files.items():
        head, _, rest = path.partition("/")
        if rest:
            subdirs.setdefault(head, {})[rest] = content
            continue
        data, mode = content if isinstance(content, tuple) else (content, 0o100644)
        blob = Blob.from_string(data)
        store.add_object(blob)
        tree.add(head.encode(), mode, blob.id)
    for name, sub in subdirs.items():
        tree.add(name.encode(), 0o040000, make_tree(store, sub))
    store.add_object(tree)
    return tree.id


def test_command_passes_on_the_checked_out_tree():
    store = MemoryObjectStore()
    tree = make_tree(store, {"pkg/mod.py": b"X = 41\n", "check.sh": (b"#!/bin/sh\necho checking\n", 0o100755)})
    result = run_verify(store, tree, "./check.sh && python3 -c 'import pkg.mod as m; assert m.X + 1 == 42'",
                        timeout=20)
    assert result.ok, result.output
    assert result.returncode == 0 and not result.timed_out
    assert "checking" in result.output


def test_failing_command_keeps_its_output():
    store = MemoryObjectStore()
    tree = make_tree(store, {"a.txt": b"hello\n"})
    result = run_verify(store, tree, ["sh", "-c", "cat a.txt; echo broken >&2; exit 3"], timeout=20)
    assert not result.ok
    assert result.returncode == 3
    assert "hello" in result.output and "broken" in result.output


def test_timeout_kills_the_command_and_says_so():
    store = MemoryObjectStore()
    tree = make_tree(store, {"a.txt": b"x\n"})
    started = time.monotonic()
    result = run_verify(store, tree, "echo started; sleep 30", timeout=0.5)
    assert time.monotonic() - started < 10
    assert result.timed_out and not result.ok and result.returncode is None
    assert "started" in result.output and "timed out" in result.output


def test_checkout_is_temporary_and_symlinks_are_kept(tmp_path):
    store = MemoryObjectStore()
    tree = make_tree(store, {"real.txt": b"data\n", "link": (b"real.txt", 0o120000)})
    marker = tmp_path / "where"
    result = run_verify(store, tree, f"cat link && pwd > {marker}", timeout=20)
    assert result.ok and "data" in result.output
    checkout = marker.read_text().strip()
    assert not os.path.exists(checkout)


def test_missing_program_is_a_failed_verify_not_an_exception():
    store = MemoryObjectStore()
    tree = make_tree(store, {"a.txt": b"x\n"})
    result = run_verify(store, tree, ["definitely-not-a-program-xyz"], timeout=5)
    assert not result.ok and "cannot run" in result.output
