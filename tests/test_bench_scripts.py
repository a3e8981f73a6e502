"""The benchmarks in bench/ are Python files that import without doing anything (no
measurement, no change to sys.path, not even mergecoord imported) and run: `--help`
answers, and `main` is there for whoever imports one."""

import json
import subprocess
import sys

from conftest import ROOT

BENCH = ROOT / "bench"
SCRIPTS = sorted(p for p in BENCH.glob("*.py") if p.name != "checkout.py")

IMPORT = r"""
import importlib.util, io, json, sys, contextlib
path = sys.argv[1]
before = list(sys.path)
sys.path.insert(0, sys.argv[2])          # where `python bench/NAME.py` finds its sibling checkout.py
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
    spec = importlib.util.spec_from_file_location("bench_script", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
sys.path.remove(sys.argv[2])
print(json.dumps({"said": out.getvalue(), "path_changed": sys.path != before, "main": callable(getattr(module, "main", None)),
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("mergecoord", "dulwich", "webserver"))}))
"""


def test_every_benchmark_is_a_python_file():
    assert [p.name for p in SCRIPTS] == ["agent_calls.py", "core_loop.py", "http_push.py", "mine_corpus.py",
                                         "panel_rounds.py", "push_to_main.py", "push_versus.py",
                                         "real_history.py", "structural.py", "verify_throughput.py"]
    assert not [p.name for p in BENCH.iterdir() if p.is_file() and p.suffix != ".py"]


def test_importing_a_benchmark_does_nothing():
    for script in SCRIPTS:
        proc = subprocess.run([sys.executable, "-c", IMPORT, str(script), str(BENCH)], capture_output=True,
                              text=True, check=True)
        found = json.loads(proc.stdout)
        assert found == {"said": "", "path_changed": False, "main": True, "loaded": []}, script.name


def test_every_benchmark_runs_and_says_how():
    for script in SCRIPTS:
        proc = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stdout.startswith("usage: "), (script.name, proc.stderr)
