"""The primitives every state module writes through: an exclusive lock, atomic
replacement, fsynced appends, and the one decision about file modes.

Locks are `fcntl.flock` on a lock file: the kernel drops them when their holder
dies, so a killed process never leaves a stale lock behind. (The `filelock`
package does the same but costs ~45 ms to import, most of a push's budget.)
"""

import fcntl
import json
import os
import stat
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
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except PermissionError:       # a reader who may not write: flock needs no write access
            fd = os.open(self.path, os.O_RDONLY)
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


# -- modes: core.sharedRepository --------------------------------------------
# Every file and directory under <repo.git>/mergecoord/ (and every object and ref
# the runner writes through dulwich, which knows nothing of core.sharedRepository)
# is created with the process umask: share() sets it once from the repository's
# core.sharedRepository, as git derives its own modes, so that in a repository
# shared by a group each member can write what another created. Directories also
# need the set-group-id bit (their files then belong to the repository's group);
# Linux gives it to every directory made inside one that has it, and repair()
# puts it on a state directory made before the repository was shared.

def shared_mode(value):
    """The permission bits core.sharedRepository asks for: None (umask, the default),
    or (bits, exact) where `exact` means the bits replace the umask's (an octal value)
    rather than being added (group, all). Raises ValueError for what git refuses too."""
    value = (value or "").strip().lower()
    if value in ("", "umask", "false", "no", "off", "0"):
        return None
    if value in ("group", "true", "yes", "on", "1"):
        return 0o660, False
    if value in ("all", "world", "everybody", "2"):
        return 0o664, False
    bits = int(value, 8)
    if bits & 0o600 != 0o600:
        raise ValueError(f"core.sharedRepository = {value}: the owner must be able to read and write")
    return bits & 0o666, True


def umask_for(mode, current):
    """The umask that makes files and directories come out as git makes them under `mode`
    (directories also get x wherever they get r)."""
    if mode is None:
        return current
    bits, exact = mode
    with_x = bits | ((bits & 0o444) >> 2)
    return 0o777 & ~with_x if exact else current & ~with_x


_SHARED = []       # the mode share() applied, for repair()


def share(value):
    """Apply core.sharedRepository (its raw value) to this process; returns the mode."""
    try:
        mode = shared_mode(value)
    except ValueError:
        mode = None              # git itself refuses such a repository; keep the umask
    current = os.umask(0)
    os.umask(umask_for(mode, current))
    _SHARED[:] = [mode]
    return mode


def repair(directory, mode, group):
    """Give every directory and file under `directory` the modes `mode` asks for and the
    group `group` (the owner's own files; others' are left as they are). Returns how
    many changed."""
    if mode is None:
        return 0
    bits, exact = mode
    changed = 0
    for root, dirs, files in os.walk(directory):
        for path, is_dir in [(root, True)] + [(os.path.join(root, f), False) for f in files]:
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            if st.st_uid != os.geteuid() or stat.S_ISLNK(st.st_mode):
                continue
            perm = st.st_mode & 0o777
            want = bits | ((bits & 0o444) >> 2 if is_dir or perm & 0o100 else 0)
            want = (want if exact else perm | want) | (stat.S_ISGID if is_dir else 0)
            if st.st_gid != group:
                try:
                    os.chown(path, -1, group)
                except PermissionError:      # not a member of that group: the modes still help
                    pass
            if stat.S_IMODE(st.st_mode) != want or st.st_gid != group:
                os.chmod(path, want)         # after chown, which may clear the set-group-id bit
                changed += 1
    return changed


def may_write(root, shared):
    """Whether this process may write the repository at `root` without leaving files
    its owner cannot use: it is the owner, or the repository is shared (`shared`, a
    core.sharedRepository mode) with a group this process belongs to."""
    st = os.stat(root)
    if os.geteuid() == st.st_uid:
        return True
    return shared is not None and (st.st_gid == os.getegid() or st.st_gid in os.getgroups())


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
    # No indent: json then encodes in C, several times faster on a long queue.
    atomic_write(path, json.dumps(value, sort_keys=True) + "\n")


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
        if not sep or not pid.isdigit() or alive(int(pid)):
            continue
        try:
            os.unlink(os.path.join(directory, name))
            removed.append(name)
        except OSError:
            pass
    return removed


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
