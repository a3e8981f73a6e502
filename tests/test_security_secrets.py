"""A planted API key never reaches anything mergecoord writes: the state dir (queue,
journal, transcripts, decision files, logs), git objects and refs (main, the
published state ref), nor the output of its commands, even when the LLM endpoint
echoes the key back and the verify command (pushed code) prints its environment."""

import json
import secrets
import subprocess

from conftest import git
from test_conflicts_e2e import BASE, BATCHED, PARALLEL
from loopback import QuietHandler, serving

PATH = "engram/vector_storage.py"


class Echoing(QuietHandler):
    """An endpoint that puts the Authorization header it received everywhere it can."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        auth = self.headers.get("Authorization", "")
        self.server.seen.append(auth)
        if len(self.server.seen) % 2 == 0:     # every other call: an error page quoting the header
            return self.reply(401, f"401 bad credentials: {auth}".encode())
        else:
            answer = {"vote": "propose", "confidence": 0.99, "rationale": f"I used {auth}",
                      "objections": [auth], "hunks": {PATH: [f"        return parallel_scan(q)  # {auth}\n"]}}
            self.reply(200, json.dumps({"choices": [{"message": {"content": json.dumps(answer)}}]}).encode())


def everything_written(central, clone):
    """(where, bytes) for every file in the bare repo, every git object decompressed
    (main, the state ref, answers), and the clone's copy of the published refs."""
    for path in central.path.rglob("*"):
        if path.is_file():
            yield str(path), path.read_bytes()
    objects = subprocess.run(["git", "--git-dir", str(central.path), "cat-file", "--batch-all-objects",
                              "--batch"], capture_output=True, check=True).stdout
    yield "git objects", objects
    git("fetch", "-q", "origin", "+refs/mergecoord/*:refs/mergecoord/*", cwd=clone, check=False)
    shown = subprocess.run(["git", "log", "-p", "--all"], cwd=clone, capture_output=True).stdout
    yield "clone: git log -p --all", shown


def test_a_planted_key_is_never_written_anywhere(tmp_path, central, make_worker, monkeypatch):
    key = "sk-planted-" + secrets.token_hex(20)
    token = "tok-" + secrets.token_hex(16)
    monkeypatch.setenv("MC_LLM_CRED", key)
    monkeypatch.setenv("DEPLOY_TOKEN", token)           # not named by the config: still a secret by name
    with serving(Echoing, seen=[]) as httpd:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
        central.set_config(
            "[runner]\nautostart = false\n"
            f'[[panel]]\nname = "echo"\nkind = "openai"\nurl = "{url}"\nmodel = "m"\n'
            'api_key_env = "MC_LLM_CRED"\ntimeout = 5\nretries = 0\n'
            "[consensus]\nmax_rounds = 2\n"
            # the pushed code's tests print their whole environment, then fail on fail.txt
            '[verify]\ncommand = "echo key=$MC_LLM_CRED token=$DEPLOY_TOKEN; env; test ! -e fail.txt"\n')
        casey, apollo, athena = make_worker("Casey"), make_worker("Apollo"), make_worker("Athena")
        casey.work("sprint/base", {PATH: BASE})
        central.run_once()
        apollo.work("sprint/parallel", {PATH: PARALLEL})
        athena.work("sprint/batched", {PATH: BATCHED})
        casey.work("sprint/breaks-tests", {"fail.txt": "x\n"})
        outputs = [central.mc("start", "--once").stdout]
        for command in (("status",), ("log", "--json"), ("queue", "--json"), ("show", "m-0003"),
                        ("show", "m-0004", "--json"), ("status", "--json")):
            proc = central.mc(*command)
            outputs.append(proc.stdout + proc.stderr)

    assert httpd.seen and all(auth == f"Bearer {key}" for auth in httpd.seen)   # the key was really used
    assert central.json("show", "m-0004")["status"] == "failed"                # verify ran and failed
    assert "token=" in central.json("show", "m-0004")["transcript"]
    leaks = [where for where, data in everything_written(central, apollo.path)
             if key.encode() in data or token.encode() in data]
    leaks += [f"output of command {i}" for i, out in enumerate(outputs) if key in out or token in out]
    assert leaks == []
