#!/usr/bin/env bash
# One-command set-up: creates .venv beside this file and installs mergecoord into it.
#   ./install.sh          install (then: .venv/bin/mergecoord --help)
#   ./install.sh --test   install with the test extra and run the whole suite
#   PYTHON=/usr/bin/python3 ./install.sh   use (and, if .venv was made by another, switch to) that interpreter
set -euo pipefail
cd "$(dirname "$0")"

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "install.sh: mergecoord needs Python 3.10 or newer (set PYTHON=/path/to/python3)" >&2
    exit 1
fi
# git computes every merge with `git merge-tree --write-tree`, which arrived in git 2.38.
git_version=$(git --version 2>/dev/null || true)
if ! printf '%s\n' "$git_version" | awk '{ split($3, v, "."); exit !(v[1] > 2 || (v[1] == 2 && v[2] >= 38)) }'; then
    echo "install.sh: mergecoord needs git 2.38 or newer; found: ${git_version:-no git on PATH}" >&2
    exit 1
fi
# An interpreter is known by its installation prefix and version (a venv's python
# reports the interpreter it was made from). A .venv made by another interpreter
# is rebuilt when PYTHON names a different one, or when its own no longer runs
# (e.g. a pyenv Python that was removed); without PYTHON an existing .venv is kept.
identity='import sys; print("%s (Python %d.%d.%d)" % (sys.base_prefix, *sys.version_info[:3]))'
if [ -e .venv ]; then
    current=$(.venv/bin/python -c "$identity" 2>/dev/null || true)
    if [ -z "$current" ] || { [ -n "${PYTHON:-}" ] && [ "$current" != "$("$python" -c "$identity")" ]; }; then
        echo "install.sh: rebuilding .venv with $python (it was made by ${current:-an interpreter that no longer runs})"
        rm -rf .venv
    fi
fi
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi

if [ "${1:-}" = "--test" ]; then
    shift
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
    exec .venv/bin/python -m pytest "$@"
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
echo "mergecoord installed: $(pwd)/.venv/bin/mergecoord"
