"""Names, subjects and paths a push carries reach the operator's and the pusher's terminals
escaped: an author name that sets the window title, a subject that writes the clipboard
(OSC 52), a path that clears the screen, a branch name with a C1 control sequence
introducer or a right-to-left override. Every command that shows them is checked."""

import os
import re

from conftest import git
from decide_story import human_clone, merge_decide, tool_env

BRANCH = "sprint/\u009b31mred\u202eevil"
AUTHOR = "Eve\x1b]0;pwned\x07"
SUBJECT = "Add \x1b]52;c;ZXZpbA==\x07 speedups"
PATH = "evil\x1b[2J\x9b0m.py"
# C0 controls but newline and tab, DEL, C1 controls, and the invisible format characters
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def hostile(worker, branch, text, subject=SUBJECT, author=None):
    worker.branch(branch)
    worker.write(PATH, text)
    worker.git("add", "-A")
    env = dict(os.environ, GIT_AUTHOR_NAME=author) if author else None
    worker.git("commit", "-q", "-m", f"{subject}\n\nREADY_TO_MERGE", env=env)
    return worker.git("push", "origin", f"HEAD:refs/heads/{branch}")


def test_nothing_a_push_carries_reaches_a_terminal_raw(tmp_path, central, make_worker):
    text = (central.state / "config.toml").read_text().replace("# always_human = []", 'always_human = ["evil*"]')
    central.set_config(text)
    apollo, eve = make_worker("Apollo"), make_worker("Eve")
    outputs = {"push 1": hostile(apollo, "sprint/base", "base\n", author=AUTHOR).stderr}
    outputs["start 1"] = central.run_once().stdout
    outputs["push 2"] = hostile(apollo, "sprint/apollo", "apollo\n").stderr
    outputs["push 3"] = hostile(eve, BRANCH, "eve\n", author=AUTHOR).stderr
    outputs["start 2"] = central.run_once().stdout
    assert "queued sprint/\\x9b31mred\\u202eevil as m-0003" in outputs["push 3"]
    record = {m["branch"]: m for m in central.json("log")["merges"]}[BRANCH]
    assert record["status"] == "escalated"                          # JSON carries the exact name

    for command in (("queue",), ("log",), ("show", "m-0001"), ("show", "m-0003"), ("status",),
                    ("decide", "list"), ("decide", "show", "d-0001", "--diff")):
        proc = central.mc(*command)
        assert proc.returncode == 0, (command, proc.stderr)
        outputs[" ".join(command)] = proc.stdout + proc.stderr
    outputs["queue worker"] = central.mc("queue").stdout
    clone = human_clone(tmp_path, central)
    for args in (("list",), ("show", "d-0001"), ("show", "d-0001", "--diff"), ("d-0001", "Q")):
        proc = merge_decide(clone, *args)
        outputs[f"clone merge-decide {' '.join(args)}"] = proc.stdout + proc.stderr
    proc = git("push", "origin", f"HEAD:refs/mergecoord/answers/{'d-0001'}", cwd=clone, check=False,
               env=tool_env())
    outputs["answer push"] = proc.stderr

    for name in [n for n in outputs if "push" in n]:     # git's own lines about the ref are git's business
        outputs[name] = "\n".join(line for line in outputs[name].splitlines() if "mergecoord:" in line)
    raw = {name: sorted(set(RAW.findall(out))) for name, out in outputs.items() if RAW.search(out)}
    assert raw == {}
    assert "evil\\x1b[2J\\x9b0m.py" in outputs["decide show d-0001 --diff"]
    assert "Eve\\x1b]0;pwned" in outputs["log"]
    shown = [name for name, out in outputs.items() if "\\x1b]52;c;ZXZpbA==\\x07" in out]
    assert "decide show d-0001 --diff" in shown and "clone merge-decide show d-0001" in shown, shown
