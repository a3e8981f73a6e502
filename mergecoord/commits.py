"""Commits read as data with the standard library only: a raw commit's author and message,
from a loose object or one `git cat-file --batch`, and the ready marker as a word of its own.

Both ends' hooks use this on every push (the server's post-receive, a clone's pre-push and
commit-msg), so it imports nothing but the standard library, and it never runs or
checks out what a commit holds.
"""

import os

ZERO = "0" * 40          # the "no commit" of a ref update: a branch created or deleted


def has_marker(message, marker):
    """The marker anywhere in the message, as a word of its own (not NOT_READY_TO_MERGE)."""
    start = message.find(marker)
    while start != -1:
        end = start + len(marker)
        before = message[start - 1] if start else " "
        after = message[end] if end < len(message) else " "
        if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
            return True
        start = message.find(marker, start + 1)
    return False


def is_sha(text):
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


def parse_commit(body):
    """(author name, author email, message) of a raw commit object."""
    head, _, message = body.partition(b"\n\n")
    name = email = ""
    for line in head.split(b"\n"):
        if line.startswith(b"author "):
            ident = line[7:].decode("utf-8", "replace")
            name, _, rest = ident.partition(" <")
            email = rest.partition(">")[0]
    return name.strip(), email.strip(), message.decode("utf-8", "replace")


def read_loose(git_dir, sha):
    """The body of a loose commit object, or None. A small push leaves its objects
    loose (receive.unpackLimit), so this usually spares starting a git process."""
    import zlib

    try:
        with open(os.path.join(str(git_dir), "objects", sha[:2], sha[2:]), "rb") as f:
            raw = zlib.decompress(f.read())
    except (OSError, zlib.error):
        return None
    header, _, body = raw.partition(b"\0")
    return body if header.startswith(b"commit ") else None


def read_commits(git_dir, shas):
    """sha -> (author name, author email, message) for the given commits."""
    commits = {}
    for sha in shas:
        body = read_loose(git_dir, sha)
        if body is not None:
            commits[sha] = parse_commit(body)
    shas = [sha for sha in shas if sha not in commits]
    for sha, kind, body in cat_batch(["--git-dir", str(git_dir)], shas, check=True):
        if kind == b"commit":
            commits[sha] = parse_commit(body)
    return commits


def cat_batch(where, shas, env=None, check=False):
    """(sha, type, body) for each of `shas` that git has, through one `git cat-file
    --batch`; `where` the git options naming the repository (["--git-dir", d], ["-C", w])."""
    if not shas:
        return
    import subprocess

    proc = subprocess.run(["git", *where, "cat-file", "--batch"], input="".join(s + "\n" for s in shas).encode(),
                          capture_output=True, check=check, env=env)
    out, pos = proc.stdout, 0
    for sha in shas:
        nl = out.find(b"\n", pos)
        if nl == -1:
            return
        header = out[pos:nl].split()
        pos = nl + 1
        if len(header) < 3:           # "<sha> missing"
            continue
        size = int(header[2])
        yield sha, header[1], out[pos:pos + size]
        pos += size + 1
