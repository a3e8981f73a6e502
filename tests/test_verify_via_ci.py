"""Verification elsewhere: `templates/verify-via-ci.py` as the `[verify] command` hands each
candidate to a CI (here a stub on loopback that records what it got) and waits for its
verdict; main takes the branch the CI passed, not the one it failed, and the log says why."""

import io
import json
import os
import tarfile
import threading

from conftest import ROOT
from loopback import QuietHandler, serving

# A branch name a shell would run if it ever met it unquoted: it must reach the CI as a value.
HOSTILE = "sprint/bad-$(touch${IFS}pwned)'\"`id`"


class CI(QuietHandler):
    """POST /jobs: a job for the identity in the body; PUT /upload/N: the checkout;
    GET /status/N: "running" once, then "fail" for a branch with "bad" in it, else "pass"."""

    def job(self, n):
        return self.server.jobs[int(n)]

    def do_POST(self):
        identity = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.guard:
            self.server.jobs.append({"identity": identity, "polls": 0, "files": None,
                                     "auth": self.headers.get("Authorization")})
            n = len(self.server.jobs) - 1
        self.reply(201, json.dumps({"status_url": f"/status/{n}", "upload_url": f"/upload/{n}",
                                    "log_url": f"{self.server.url}/logs/{n}"}).encode(),
                   {"Content-Type": "application/json"})

    def do_PUT(self):
        data = self.rfile.read(int(self.headers["Content-Length"]))
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            files = {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile()}
        self.job(self.path.rsplit("/", 1)[1])["files"] = files
        self.reply(204)

    def do_GET(self):
        job = self.job(self.path.rsplit("/", 1)[1])
        job["polls"] += 1
        state = "running" if job["polls"] < 2 else ("fail" if "bad" in job["identity"]["branch"] else "pass")
        self.reply(200, json.dumps({"state": state}).encode(), {"Content-Type": "application/json"})


def test_the_ci_script_verifies_each_candidate_elsewhere(central, make_worker, tmp_path):
    script = ROOT / "templates" / "verify-via-ci.py"
    text = (central.state / "config.toml").read_text().replace(
        "[verify]\n", f'[verify]\ncommand = ["python3", "{script}"]\nenv = ["CI_URL", "CI_POLL", "CI_TOKEN"]\n'
                      "timeout = 120\n", 1)
    central.set_config(text)
    apollo = make_worker("Apollo")
    apollo.work("sprint/good", {"good.txt": "good\n"})
    apollo.work(HOSTILE, {"bad.txt": "bad\n"})
    with serving(CI, jobs=[], guard=threading.Lock()) as ci:
        env = dict(os.environ, CI_URL=f"{ci.url}/jobs", CI_POLL="0.05", CI_TOKEN="ci-token-0123456789")
        central.mc("start", "--once", check=True, env=env, cwd=tmp_path)
        jobs = ci.jobs

    assert central.show("main:good.txt") == "good\n"
    assert "bad.txt" not in central.git("ls-tree", "--name-only", "main").stdout
    assert not (tmp_path / "pwned").exists() and not list(central.path.parent.rglob("pwned"))

    good, bad = (job["identity"] for job in jobs)
    first_main = central.rev("main^")
    assert good == {"merge_id": "m-0001", "branch": "sprint/good", "tree": central.rev("main^{tree}"),
                    "base": first_main, "commit": central.rev("main")}     # the commit it passed landed
    assert bad["merge_id"] == "m-0002" and bad["branch"] == HOSTILE and bad["base"] == central.rev("main")
    assert central.git("cat-file", "-t", bad["commit"]).stdout.strip() == "commit"   # made, never landed
    assert jobs[0]["files"] == {"README.md": "# project\n", "good.txt": "good\n"}     # the checkout itself
    assert jobs[1]["files"]["bad.txt"] == "bad\n"
    assert jobs[0]["auth"] == "Bearer ci-token-0123456789"

    log = {m["id"]: m for m in central.json("log")["merges"]}
    assert log["m-0001"]["reason"] == {"code": "merged", "resolved_by": "clean"}
    reason = log["m-0002"]["reason"]
    assert reason["code"] == "verify-failed" and reason["exit"] == 1
    assert reason["base"] == central.rev("main") and reason["commit"] == bad["commit"]
    assert reason["tail"] == f"verify-via-ci: m-0002 submitted; log: {ci.url}/logs/1\n" \
                             f"verify-via-ci: m-0002: fail; log: {ci.url}/logs/1"


def test_the_readme_shows_the_script_in_full():
    script = (ROOT / "templates" / "verify-via-ci.py").read_text()
    assert f"```python\n{script}```" in (ROOT / "README.md").read_text()
