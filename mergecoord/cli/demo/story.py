"""`mergecoord demo`: the seed's story, replayed for real in a sandbox.

A central bare repository and three worker clones (Apollo, Athena, Numa, named as in
the seed) push with plain git; the installed hooks queue their branches; the runner
merges them: clean merges, a conflict the workers discuss on the panel (Apollo and
Athena each speaking for their own branch, Numa neutral, the built-in strategies
recusing) until a synthesis is applied in round 2, a second conflict escalated on a 2-1
vote and answered, the refactor task, the learning record and the dashboard. The agents
are scripted stand-ins for the Claude Code, Codex and Gemini CLIs (`agents.py`,
labelled as such), so the story needs no network; everything else goes through the same
code and commands a user runs. `run()` returns what it built so a test can check it.
"""

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ...errors import UserError

from .script import (AGENTS, AGENTS_DIR, BATCHED_SEARCH, BATCHED_STORE, CACHED_STORE, ENDPOINTS, ESCALATED,
                         INITIAL, PARALLEL_SEARCH, PLAIN_SEARCH, PLAIN_STORE, RATIONALE, SCRIPT, STREAMING, VECTOR,
                         WORKERS)


class Sandbox:
    """The central repository and the worker clones, driven with real git."""

    def __init__(self, root, echo):
        self.root = Path(root).resolve()
        self.central_path = self.root / "Tekton.git"
        self.echo = echo
        # The user's own git config (signing, hooks paths, templates) stays out of the story.
        self.env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
                    "GIT_TERMINAL_PROMPT": "0"}
        for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "MERGECOORD_REPO"):
            self.env.pop(var, None)

    def git(self, *args, cwd=None, check=True):
        proc = subprocess.run(["git", *args], cwd=cwd, env=self.env, capture_output=True, text=True)
        if check and proc.returncode:
            raise UserError(f"git {' '.join(args)} failed: {(proc.stderr.strip().splitlines() or [''])[-1]}")
        return proc

    def mergecoord(self, *args, check=True, interactive=False):
        # cwd: the sandbox, so that no directory named mergecoord shadows the package
        cmd = [sys.executable, "-m", "mergecoord", "--repo", str(self.central_path), *args]
        if interactive:
            proc = subprocess.run(cmd, env=self.env, cwd=self.root)
        else:
            proc = subprocess.run(cmd, env=self.env, cwd=self.root, capture_output=True, text=True)
        if check and proc.returncode:
            raise UserError(f"mergecoord {' '.join(args)} failed: {(proc.stderr or '').strip()}")
        return proc

    def clone(self, name):
        return self.root / name

    def write(self, clone, files):
        for path, text in files.items():
            target = self.clone(clone) / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)

    def commit_and_push(self, clone, branch, files, message):
        """A worker's whole turn: branch off the latest main, edit, commit, push."""
        where = self.clone(clone)
        self.git("fetch", "-q", "origin", cwd=where)
        self.git("checkout", "-q", "-B", branch, "origin/main", cwd=where)
        self.write(clone, files)
        self.git("add", "-A", cwd=where)
        self.git("commit", "-q", "-m", message, cwd=where)
        self.echo(f"$ git push origin {branch}      # in {clone}")
        proc = self.git("push", "origin", f"HEAD:refs/heads/{branch}", cwd=where)
        for line in proc.stderr.splitlines():
            if "mergecoord:" in line:
                self.echo("  " + line.strip())

    def read_main(self, path):
        return self.git("--git-dir", str(self.central_path), "show", f"main:{path}").stdout


def build(root, echo):
    """The sandbox of the seed: central repository, first commit, three worker clones."""
    from ... import install
    from ...central import locate
    from ...resources import template

    sandbox = Sandbox(root, echo)
    sandbox.root.mkdir(parents=True, exist_ok=True)
    sandbox.git("init", "-q", "--bare", "--initial-branch=main", str(sandbox.central_path))
    central = locate(sandbox.central_path, need_init=False)
    central.ensure_state_dir()
    config = template("mergecoord.toml").read_text()
    workers = "".join(f'"{email}" = "{name}"\n' for _, name, email, _ in WORKERS)
    config = config.replace("[workers]\n", "[workers]\n" + workers, 1)
    # The story drives the runner itself, step by step, instead of a detached one.
    config = config.replace("# autostart = true", "autostart = false", 1)
    config = config.replace("# advocates = false", "advocates = true", 1)
    central.config_path.write_text(config + panel_config(install_agents(sandbox.root / AGENTS_DIR)))
    for name in install.SERVER_HOOKS:
        install.install_hook(install.hooks_dir(central.git_dir), name)

    setup = sandbox.root / "Tekton-setup"
    sandbox.git("clone", "-q", str(sandbox.central_path), str(setup))
    sandbox.git("config", "user.name", "Casey", cwd=setup)
    sandbox.git("config", "user.email", "casey@tekton.dev", cwd=setup)
    sandbox.write("Tekton-setup", INITIAL)
    sandbox.git("add", "-A", cwd=setup)
    sandbox.git("commit", "-q", "-m", "Engram: vector storage and API v1", cwd=setup)
    sandbox.git("push", "-q", "origin", "HEAD:main", cwd=setup)

    for clone, name, email, _ in WORKERS:
        sandbox.git("clone", "-q", str(sandbox.central_path), str(sandbox.clone(clone)))
        sandbox.git("config", "user.name", name, cwd=sandbox.clone(clone))
        sandbox.git("config", "user.email", email, cwd=sandbox.clone(clone))
        sandbox.mergecoord("install-hooks", str(sandbox.clone(clone)), "--worker", name, check=False)
    return sandbox, central


def install_agents(directory):
    """The scripted stand-ins (`claude`, `codex`, `gemini`) and their script, in `directory`."""
    from . import agents

    directory.mkdir()
    source = Path(agents.__file__).read_text()
    for _, _, _, program in AGENTS:
        path = directory / program
        path.write_text(f"#!{sys.executable}\n# Scripted stand-in written by 'mergecoord demo': not a model.\n" + source)
        path.chmod(0o755)
    (directory / agents.SCRIPT).write_text(json.dumps(SCRIPT, indent=1))
    return directory


def panel_config(agents):
    """The demo's panel: the built-in strategies, Numa neutral, and the agents through which
    Apollo and Athena speak for their own work (neutral = false: advocates only)."""
    lines = ["", "# The demo's panel: scripted stand-ins for the agent CLIs (mergecoord/cli/demo/agents.py).",
             "[[panel]]", 'name = "builtin"', 'kind = "builtin"']
    for worker, entry, kind, program in AGENTS:
        lines += ["", "[[panel]]", f'name = "{entry}"', f'kind = "{kind}"', f'program = "{agents / program}"',
                  "timeout = 30", f"neutral = {'true' if entry == worker else 'false'}"]
    for worker, entry, _, _ in AGENTS:
        lines += ["", f"[workers.{worker}]", f'panelist = "{entry}"']
    return "\n".join(lines) + "\n"


class Story:
    def __init__(self, root, interactive, echo):
        self.echo = echo
        self.interactive = interactive
        self.sandbox, self.central = build(root, echo)
        from ... import config

        self.config = config.load(self.central)
        self.result = {"root": str(self.sandbox.root), "central": str(self.sandbox.central_path)}

    def heading(self, text):
        self.echo("")
        self.echo(f"#### {text}")
        self.echo("")

    def run_queue(self):
        from .. import dashboard
        from ...server.runner import Runner

        began = time.monotonic()
        runner = Runner(self.central, self.config, echo=self.echo)
        processed = runner.run(once=True) or []
        self.echo("")
        for line in dashboard.run_report(processed, time.monotonic() - began):
            self.echo(line)
        return processed

    # -- the acts -----------------------------------------------------------------

    def act_parallel_work(self):
        self.heading("T+0: Workers Complete Their Tasks")
        s = self.sandbox
        vector = INITIAL[VECTOR]
        s.commit_and_push("Tekton-worker1", WORKERS[0][3], {VECTOR: vector.replace(PLAIN_SEARCH, PARALLEL_SEARCH)},
                          "Optimized vector search with parallel processing\n\n"
                          "Searches every vector database in parallel and caches frequent queries.\n\n"
                          "READY_TO_MERGE")
        s.commit_and_push("Tekton-worker2", WORKERS[1][3], {VECTOR: vector.replace(PLAIN_SEARCH, BATCHED_SEARCH)},
                          "Optimized memory storage with batch operations\n\n"
                          "Flushes pending writes in batches and compresses stored vectors (60% smaller).\n\n"
                          "READY_TO_MERGE")
        s.commit_and_push("Tekton-worker3", WORKERS[2][3], {ENDPOINTS: INITIAL[ENDPOINTS] + STREAMING},
                          "Optimized API with streaming responses\n\nREADY_TO_MERGE")
        self.heading("T+30s: Merge Coordinator Detects Ready Branches")
        self.echo("The panel: Apollo and Athena each speak for their own branch, Numa is neutral, and the")
        self.echo("built-in strategies recuse themselves from judgement calls. The agents are SCRIPTED")
        self.echo("stand-ins for the Claude Code (Apollo), Codex (Athena) and Gemini (Numa) CLIs: they print")
        self.echo(f"those tools' documented output, with lines written for this story ({AGENTS_DIR}/).")
        self.echo("")
        processed = self.run_queue()
        self.result["act1"] = [(e.id, o.status, o.resolved_by) for e, o in processed]
        discussed = next((e.id for e, o in processed if o.resolved_by == "consensus"), None)
        if discussed:
            self.show_transcript(discussed)

    def show_transcript(self, merge_id):
        from ...state import transcripts
        from ...untrusted import printable

        self.heading(f"[Team Chat] the panel's discussion of {merge_id} (mergecoord show {merge_id})")
        for line in transcripts.load(self.central, merge_id).rstrip().splitlines():
            self.echo(printable(line))

    def act_escalation(self):
        self.heading("Human Escalation Scenario: both rewrote VectorStorage.store()")
        s = self.sandbox
        current = s.read_main(VECTOR)
        s.commit_and_push("Tekton-worker1", "sprint/store-caching",
                          {VECTOR: current.replace(PLAIN_STORE, CACHED_STORE)},
                          "Parallel search with intelligent caching\n\n"
                          "Every store clears the search cache, so cached results stay correct.\n\n"
                          "READY_TO_MERGE")
        s.commit_and_push("Tekton-worker2", ESCALATED,
                          {VECTOR: current.replace(PLAIN_STORE, BATCHED_STORE)},
                          "Batch operations with compression\n\n"
                          "Stores go to the backend in compressed batches of 64.\n\n"
                          "READY_TO_MERGE")
        processed = self.run_queue()
        self.result["act2"] = [(e.id, o.status, o.resolved_by) for e, o in processed]
        escalated = [(e, o) for e, o in processed if o.status == "escalated"]
        if not escalated:
            self.echo("(nothing was escalated)")
            return
        entry, outcome = escalated[0]
        self.show_transcript(entry.id)
        decision = outcome.decision
        self.result["decision"] = decision
        if not decision:
            self.echo(f"(escalated {entry.id} without a decision)")
            return
        self.heading(f"Human decision {decision}")
        if self.interactive and sys.stdin.isatty():
            self.sandbox.mergecoord("decide", interactive=True)
        else:
            shown = self.sandbox.mergecoord("decide", "show", decision, check=False)
            for line in (shown.stdout or "").rstrip().splitlines():
                self.echo(line)
            self.echo("")
            self.echo("Choose [A/B]: B      # the demo answers for you (--interactive to answer yourself)")
            self.echo(f"$ git merge-decide {decision} B -m \"{RATIONALE}\"")
            answered = self.sandbox.mergecoord("decide", decision, "B", "-m", RATIONALE, check=False)
            for line in (answered.stdout + answered.stderr).rstrip().splitlines():
                self.echo("  " + line)
        self.echo("")
        processed = self.run_queue()
        self.result["act2_decision"] = [(e.id, o.status, o.resolved_by) for e, o in processed]

    def act_feedback(self):
        from ...state import tasks

        found = tasks.all_tasks(self.central)
        self.result["tasks"] = [(t.id, t.worker, t.file) for t in found]
        if not found:
            return
        self.heading("Worker Feedback Loop")
        worker = next((c for c, name, _, _ in WORKERS if name == found[0].worker), None)
        if worker:
            # The worker sees the task where it works: the installed hook shows it after a pull.
            self.echo(f"$ git pull      # in {worker}, whose worker hooks are installed")
            where = self.sandbox.clone(worker)
            self.sandbox.git("checkout", "-q", "-B", "main", "origin/main", cwd=where)
            pulled = self.sandbox.git("pull", "-q", cwd=where, check=False)
            shown = [line.rstrip() for line in (pulled.stdout + pulled.stderr).splitlines() if line.strip()]
            for line in shown:
                self.echo("  " + line)
            if any(task.id in line for line in shown for task in found):
                return
        for task in found:
            self.echo(f"[{task.worker} Inbox] New refactor task ({task.id}):")
            self.echo(f"Priority: {task.priority.capitalize()}")
            self.echo(f"File: {task.file}")
            self.echo(f"Feedback: {task.feedback}")
            self.echo(f"Suggestion: {task.suggestion}")
            self.echo(f"Learning: {task.learning}")

    def act_learning(self):
        from ...server import learning

        found = learning.records(self.central)
        self.result["learning"] = found
        human = [r for r in found if r.get("resolved_by") == "human"]
        if not found:
            return
        self.heading("Learning System Updates")
        record = (human or found)[-1]
        shown = {k: record[k] for k in ("conflict_type", "file", "approaches", "ai_consensus",
                                         "human_decision", "rationale", "outcome") if k in record}
        self.echo(json.dumps(shown, indent=4))
        lessons = learning.lessons(self.central, [record["file"]])
        if lessons:
            self.echo("")
            self.echo("# Next time the panel is told:")
            for lesson in lessons:
                self.echo(f"#   {lesson}")

    def act_dashboard(self):
        from ...server import status
        from .. import dashboard

        self.heading("Status Dashboard (mergecoord status)")
        summary = status.summary(self.central, self.config)
        self.result["status"] = summary
        for line in dashboard.render(summary, color=dashboard.use_color(sys.stdout)).splitlines():
            self.echo(line)

    def tell(self):
        self.echo(f"Sandbox: {self.sandbox.root}")
        self.echo(f"  central repository {self.sandbox.central_path.name}, "
                  f"workers {', '.join(f'{c} ({n})' for c, n, _, _ in WORKERS)}")
        self.act_parallel_work()
        self.act_escalation()
        self.act_feedback()
        self.act_learning()
        self.act_dashboard()
        self.echo("")
        self.echo(f"Explore: cd {shlex.quote(str(self.sandbox.root))}; "
                  f"{typed_command()} --repo {self.sandbox.central_path.name} log")
        return self.result


def typed_command():
    """`mergecoord` as the reader can type it in the sandbox: the bare name when it is this
    installation's on PATH, else the script's full path (the quick start runs
    .venv/bin/mergecoord, which is on no PATH: `mergecoord` alone was 'command not found')."""
    import shutil

    script = Path(sys.executable).parent / "mergecoord"
    if not script.is_file():
        return f"{shlex.quote(sys.executable)} -m mergecoord"
    found = shutil.which("mergecoord")
    if found and Path(found).resolve() == script.resolve():
        return "mergecoord"
    return shlex.quote(str(script))


def run(directory=None, *, interactive=False, echo=print):
    """Build the sandbox in `directory` (default: a new temporary directory) and tell the
    story. Returns what was built and what happened (for tests)."""
    root = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="mergecoord-demo-"))
    return Story(root, interactive, echo).tell()
