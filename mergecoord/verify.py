"""Runs the `[verify]` command on a checkout of a merged tree before main may move.

The tree is written from a dulwich object store into a fresh temporary directory (no
repository, no working tree of ours is touched), the command runs there with a timeout, and
its output is kept for the transcript. A timed-out command's whole process group is killed.
"""

from __future__ import annotations

import os
import shlex
import signal
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

MAX_OUTPUT = 64 * 1024       # keep the tail: that is where test runners print the verdict


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    output: str
    returncode: Optional[int]
    timed_out: bool


def checkout_tree(object_store, tree: bytes, directory: Path) -> None:
    """Write `tree` (recursively) into `directory`, keeping executable bits and symlinks.
    Submodules are left as empty directories; names that would escape are refused."""
    for name, mode, sha in object_store[tree].iteritems():
        if name in (b".", b"..", b".git") or b"/" in name or b"\0" in name:
            raise ValueError(f"refusing to check out the entry {name!r}")
        target = directory / os.fsdecode(name)
        if stat.S_ISDIR(mode):
            target.mkdir()
            checkout_tree(object_store, sha, target)
        elif mode == 0o160000:          # gitlink: a submodule we do not have
            target.mkdir()
        elif stat.S_ISLNK(mode):
            os.symlink(os.fsdecode(object_store[sha].data), target)
        else:
            target.write_bytes(object_store[sha].data)
            if mode & 0o111:
                target.chmod(0o755)


def run_verify(object_store, tree: bytes, command: Union[str, Sequence[str]], *, timeout: float,
               env: Optional[Mapping[str, str]] = None) -> VerifyResult:
    """Check `tree` out in a temp dir and run `command` there (a string runs through the
    shell, a list is run as is); ok when it exits 0 within `timeout` seconds."""
    with tempfile.TemporaryDirectory(prefix="mergecoord-verify-") as temp:
        checkout = Path(temp) / "tree"
        checkout.mkdir()
        checkout_tree(object_store, tree, checkout)
        argv = command if not isinstance(command, str) else ["/bin/sh", "-c", command]
        try:
            process = subprocess.Popen(list(argv), cwd=checkout, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, env=dict(env) if env is not None else None,
                                       start_new_session=True)
        except OSError as exc:
            shown = command if isinstance(command, str) else shlex.join(command)
            return VerifyResult(False, f"cannot run {shown}: {exc.strerror}", None, False)
        try:
            out, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                process.kill()
            out, _ = process.communicate()
            text = _tail(out) + f"\n[verify timed out after {timeout:g}s]\n"
            return VerifyResult(False, text, None, True)
        return VerifyResult(process.returncode == 0, _tail(out), process.returncode, False)


def _tail(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    if len(text) > MAX_OUTPUT:
        text = "[... output truncated]\n" + text[-MAX_OUTPUT:]
    return text
