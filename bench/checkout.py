"""What every benchmark does first, in its `main()`: run on this checkout's mergecoord (and,
for those that need them, the tests' helpers), and when started from a plain python3 that
lacks the project's dependencies, run again under the project's virtual environment.

The benchmarks import this as `checkout` (running `python bench/NAME.py` puts bench/ first
on sys.path); importing it, like importing any of them, does nothing.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Who the benchmarks commit as, and no system-wide git config: runs compare like with like.
ENV = dict(os.environ, GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.com",
           GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.com", GIT_CONFIG_NOSYSTEM="1")


def git(*args, cwd=None, input=None, text=True):
    """Run git as the benchmarks do; its output (str, or bytes with `text=False`)."""
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True, input=input,
                          text=text).stdout


def use_this_checkout(needs="dulwich", tests=False):
    """Put this checkout (and with `tests`, tests/) first on sys.path; when `needs` cannot
    be imported, exec the running script again with .venv/bin/python."""
    for path in ([ROOT / "tests"] if tests else []) + [ROOT]:
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    try:
        __import__(needs)
    except ImportError:
        venv = ROOT / ".venv" / "bin" / "python"
        if venv.exists() and Path(sys.prefix).resolve() != venv.parents[1].resolve():
            os.execv(str(venv), [str(venv), sys.argv[0], *sys.argv[1:]])
        raise
