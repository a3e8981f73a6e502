"""Waking a serving runner the moment the queue changes: `<state>/wake`, a FIFO.

A runner started as a service (`mergecoord start`) waits on the FIFO between
queue checks instead of sleeping; the push hook writes one byte to it, so a
queued branch is taken at once rather than at the next poll. The hook opens the
FIFO non-blocking for writing, which fails at once (ENXIO) when no runner holds
it open for reading: a push never waits for a runner, and learns whether one is
serving. Standard library only: the push hook imports this.
"""

import os
import select
import stat

NAME = "wake"


def wake(central):
    """Tell a serving runner to look at the queue now. Never blocks; True when a runner
    was listening (it is awake now), False when none is."""
    try:
        fd = os.open(central.file(NAME), os.O_WRONLY | os.O_NONBLOCK)
    except OSError:          # ENXIO: nobody listens; ENOENT: no runner ever served here
        return False
    try:
        os.write(fd, b"!")
    except OSError:          # EAGAIN: the pipe is full of wake-ups already
        pass
    finally:
        os.close(fd)
    return True


class Alarm:
    """The serving runner's end of the FIFO: `wait(timeout)` returns early when woken."""

    def __init__(self, central):
        path = central.file(NAME)
        for attempt in range(3):         # someone may remove it between the two steps
            try:
                if not stat.S_ISFIFO(os.lstat(path).st_mode):
                    os.unlink(path)
            except FileNotFoundError:
                pass
            try:
                os.mkfifo(path, 0o666)       # the umask (core.sharedRepository) decides
            except FileExistsError:
                pass
            try:
                # Read and write: while the runner itself holds a writing end, the FIFO
                # never reads as end-of-file between two hooks' writes (select would spin).
                self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
                return
            except FileNotFoundError:
                if attempt == 2:
                    raise

    def wait(self, timeout):
        """Sleep up to `timeout` seconds, or until woken; True when woken."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            while os.read(self.fd, 4096):
                pass
        except BlockingIOError:
            pass
        return True

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
