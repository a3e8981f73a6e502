"""The primitives every state module writes through: an exclusive lock, atomic
replacement, and fsynced appends.

Locks are `fcntl.flock` on a lock file: the kernel drops them when their holder
dies, so a killed process never leaves a stale lock behind. (The `filelock`
package does the same but costs ~45 ms to import, most of a push's budget.)
"""

import fcntl
import json
import os
import time


class LockTimeout(Exception):
    pass


class Lock:
    """An exclusive lock on `path`; re-entrant within one object."""

    def __init__(self, path, timeout=30.0):
        self.path = path
        self.timeout = timeout
        self._fd = None
        self._depth = 0

    @property
    def held(self):
        return self._depth > 0

    def acquire(self, blocking=True):
        if self._depth:
            self._depth += 1
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not blocking or time.monotonic() >= deadline:
                    os.close(fd)
                    if blocking:
                        raise LockTimeout(f"timed out waiting for {self.path}")
                    return False
                time.sleep(0.005)
        self._fd = fd
        self._depth = 1
        return True

    def release(self):
        self._depth -= 1
        if self._depth == 0:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


# Values that must never reach a state file (the runner registers the API keys and
# tokens of its environment). Every state file is written through the two functions
# below, so one place keeps them out of the queue, journal, transcripts, decision
# files and inbox tasks, and of the state ref that is published from them. Pushed
# code (the verify command) may print a key encoded to slip past a plain search: the
# key is also found as base64 (at any alignment, standard or URL-safe), as hex (either
# case, bytes apart by spaces or colons) and URL-encoded, even broken across lines.
_SECRETS = []
_FOUND = []         # one compiled pattern for every form of every secret, when any


def never_write(values):
    """Register secret values: from now on this process writes them as [redacted]."""
    _SECRETS[:] = sorted({v.encode("utf-8") for v in values if v and len(v) >= 8}, key=len, reverse=True)
    _FOUND[:] = [_pattern(_SECRETS)] if _SECRETS else []


def holds_secret(data):
    """True when `data` (bytes or str) holds a registered secret in any form `scrub` finds."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    return bool(_FOUND) and _FOUND[0].search(data) is not None


def scrub(data):
    return _FOUND[0].sub(b"[redacted]", data) if _FOUND else data


def _pattern(secrets):
    import base64
    import re

    wrap = rb"(?:\r?\n)?"          # a line break anywhere: base64 and hex dumps wrap

    def chars(text):
        return wrap.join(re.escape(bytes([c])) for c in text)

    def hexdigit(d):
        return b"[" + d + d.upper() + b"]" if d.isalpha() else d

    forms = []
    for secret in secrets:
        # the key itself, any byte of it possibly %-encoded
        forms.append(wrap.join(b"(?:" + re.escape(bytes([c])) + b"|%" + hexdigit(b"%x" % (c >> 4))
                               + hexdigit(b"%x" % (c & 15)) + b")" for c in secret))
        forms.append(rb"(?:\r?\n)?[ :]?".join(
            hexdigit(b"%x" % (c >> 4)) + wrap + hexdigit(b"%x" % (c & 15)) for c in secret))
        for skip in range(3):
            # base64 of the key after `skip` bytes of something else: the characters that
            # depend on the key alone are the same whatever surrounds it
            encoded = base64.b64encode(bytes(skip) + secret)
            middle = encoded[-(-8 * skip // 6): 8 * (skip + len(secret)) // 6]
            forms.append(chars(middle))
            forms.append(chars(middle.translate(bytes.maketrans(b"+/", b"-_"))))
    return re.compile(b"|".join(dict.fromkeys(forms)))


def atomic_write(path, data):
    """Replace `path` with `data` (str or bytes) so readers see old or new, never half."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    data = scrub(data)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def append_line(path, line):
    """Append one line and fsync; callers hold the state lock.

    A write cut short (disk full, a crash mid-write) leaves a last line without
    its newline; starting on a fresh line keeps that damage to the one line instead
    of gluing the next good line onto it, where a reader would lose both."""
    with open(path, "ab+") as f:
        prefix = b""
        if f.seek(0, os.SEEK_END):
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                prefix = b"\n"
        f.write(prefix + scrub(line.encode("utf-8")) + b"\n")
        f.flush()
        os.fsync(f.fileno())


def read_json(path, default):
    try:
        with open(path, "rb") as f:
            return json.loads(f.read() or b"null") or default
    except FileNotFoundError:
        return default


def write_json(path, value):
    atomic_write(path, json.dumps(value, indent=1, sort_keys=True) + "\n")


# Git and dulwich lock a file by creating `<file>.lock` (O_EXCL) for the few
# milliseconds of an update, and remove it when done; a process killed in between
# leaves it behind and every later update of that file fails. None of them holds
# such a lock for seconds, so one this old belongs to a dead process.
STALE_LOCK_AGE = 2.0


def break_stale_lock(path, max_age=STALE_LOCK_AGE, wait=True):
    """Remove the git-style lock file `path` once it is `max_age` seconds old.

    With `wait`, a younger lock is watched until its owner releases it or it turns
    stale. Returns True when the lock is gone, False when it is (still) live."""
    deadline = time.monotonic() + max_age + 1.0
    while True:
        try:
            age = time.time() - os.stat(path).st_mtime
        except FileNotFoundError:
            return True
        if age >= max_age:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            return True
        if not wait or time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def remove_orphan_temp_files(directory):
    """Delete `*.tmp.<pid>` files of atomic_write whose writer is dead (it was killed
    between writing and renaming); the file they were meant to replace is intact."""
    removed = []
    for name in os.listdir(directory):
        stem, sep, pid = name.rpartition(".tmp.")
        if not sep or not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            os.unlink(os.path.join(directory, name))
            removed.append(name)
        except OSError:
            pass
    return removed


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
