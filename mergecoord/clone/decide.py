"""Decisions as `git merge-decide` sees them in a clone: plain git over the remote.

The clone fetches `refs/mergecoord/*` (the published state and the answers so far)
and answers by pushing a commit holding `answer.toml` to
`refs/mergecoord/answers/<id>`. The server's pre-receive hook has the last word:
its one-line refusal is what the human sees.
"""

import subprocess

from ..errors import UsageError, UserError
from ..state import answers, decisions
from ..untrusted import printable
from .inbox import STATE_REF
from .settings import FETCH_REFSPEC



def git_error(stderr):
    """The line of git's stderr that says what went wrong."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal: ", "error: ")):
            return line.split(": ", 1)[1]
    return lines[-1] if lines else "unknown error"


# git's own lines around a refused fetch or push: they say nothing about why.
_NOISE = ("To ", "error: failed to push some refs", "fatal: Could not read from remote repository",
          "Please make sure you have the correct access rights", "and the repository exists")


def remote_said(stderr):
    """Why the remote refused a fetch or push, as it said it: its `remote:` lines (the
    server's hooks: gitolite's "FATAL: W ... DENIED by fallthru") and the lines its shell
    printed before git ran (gitolite's read check), joined into one line; "" when it
    said nothing. The server is not ours to trust with the terminal: printable() first."""
    out = []
    for raw in stderr.splitlines():
        line = raw.strip()
        if line.startswith("remote:"):
            line = line[len("remote:"):].strip()
        elif line.startswith(_NOISE) or line.startswith("hint:"):
            continue
        if line:
            out.append(printable(line))
    return "; ".join(out)


def git(workdir, *args, input=None, check=True):
    proc = subprocess.run(["git", *args], cwd=workdir, capture_output=True, text=True, input=input,
                          errors="replace")
    if check and proc.returncode:
        raise UserError(f"git {args[0]} failed: {git_error(proc.stderr)}")
    return proc


def remote_lines(stderr):
    """The server's `mergecoord:` lines from a push's stderr."""
    out = []
    for line in stderr.splitlines():
        line = line.strip()
        if line.startswith("remote: "):
            line = line[len("remote: "):].strip()
        if line.startswith("mergecoord: "):
            out.append(line[len("mergecoord: "):])
    return out


class RemoteDecisions:
    where = "remote"

    def __init__(self, workdir, remote="origin"):
        self.workdir, self.remote = workdir, remote
        proc = git(workdir, "fetch", "-q", "--prune", remote, FETCH_REFSPEC, check=False)
        if proc.returncode:
            raise UserError(f"could not fetch refs/mergecoord/* from {remote}: "
                            f"{remote_said(proc.stderr) or git_error(proc.stderr)}")

    def answered(self):
        out = git(self.workdir, "for-each-ref", "--format=%(refname)", answers.ANSWERS).stdout
        return {line[len(answers.ANSWERS):] for line in out.split()}

    def all(self):
        if git(self.workdir, "rev-parse", "-q", "--verify", STATE_REF, check=False).returncode:
            return []
        names = git(self.workdir, "ls-tree", "--name-only", f"{STATE_REF}:decisions", check=False).stdout.split()
        answered = self.answered()
        out = []
        for name in sorted(names):
            decision_id = name[:-len(".toml")] if name.endswith(".toml") else name
            if not decisions.valid_id(decision_id):
                continue
            text = git(self.workdir, "cat-file", "blob", f"{STATE_REF}:decisions/{name}").stdout
            try:
                doc = decisions.parse(text, f"{decision_id}.toml")
            except decisions.DecisionError as e:
                out.append({"id": decision_id, "status": "damaged", "error": str(e), "files": []})
                continue
            if doc["status"] == "pending" and decision_id in answered:
                doc["status"] = "decided"       # answered; the server has not republished yet
            out.append(doc)
        return out

    def load(self, decision_id):
        for doc in self.all():
            if doc["id"] == decision_id:
                if doc["status"] == "damaged":
                    raise UserError(doc["error"])
                return doc
        raise UserError(f"unknown decision {decision_id} (see 'git merge-decide list')")

    def git_dir_for(self, doc):
        """The git dir holding both commits of `doc`, for its diff: this clone's, once the
        remote's branches are fetched."""
        git(self.workdir, "fetch", "-q", self.remote, "refs/heads/*:refs/remotes/" + self.remote + "/*",
            check=False)
        return git(self.workdir, "rev-parse", "--absolute-git-dir").stdout.strip()

    def speak_for(self, name):
        raise UsageError("--as works on the central repository only: over ssh or HTTP the server "
                         "knows who you are")

    def check(self, doc, choice, files, rationale):
        if doc["status"] != "pending":
            raise answers.AnswerError(decisions.describe_status(doc))
        return answers.normalise(doc, choice, files)

    def submit(self, decision_id, choice, files, rationale):
        text = answers.answer_file(choice, files, rationale)
        blob = git(self.workdir, "hash-object", "-w", "--stdin", input=text).stdout.strip()
        tree = git(self.workdir, "mktree", input=f"100644 blob {blob}\tanswer.toml\n").stdout.strip()
        commit = git(self.workdir, "commit-tree", tree, "-m", f"Answer {decision_id}: {choice}").stdout.strip()
        ref = answers.ANSWERS + decision_id
        proc = git(self.workdir, "push", "--porcelain", self.remote, f"+{commit}:{ref}", check=False)
        said = remote_lines(proc.stderr)
        if proc.returncode:
            raise UserError(printable(said[0]) if said else
                            f"{self.remote} refused the answer: {remote_said(proc.stderr) or git_error(proc.stderr)}")
        return said[-1] if said else f"pushed the answer to {ref} on {self.remote}"
