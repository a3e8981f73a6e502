"""Learning from decisions: an identical conflict is resolved as the human resolved it,
the panel is told past rationales, and panelists' weights follow their agreement."""

import json
import sys
import textwrap

import pytest

# A panelist program: logs every prompt it gets, then endorses one side with a confidence
# too low for consensus, so that every real conflict goes to a human.
PANELIST = textwrap.dedent('''
    import json, sys
    letter, log = sys.argv[1], sys.argv[2]
    prompt = sys.stdin.read()
    with open(log, "a") as f:
        f.write(prompt + "\\n@@END-OF-PROMPT@@\\n")
    print(json.dumps({"vote": "endorse", "candidate": letter, "confidence": 0.5,
                      "rationale": "I like side " + letter}))
''')


@pytest.fixture
def panel(central, tmp_path):
    script = tmp_path / "panelist.py"
    script.write_text(PANELIST)
    logs = {"keeper": tmp_path / "keeper.log", "taker": tmp_path / "taker.log"}
    text = (central.state / "config.toml").read_text()
    for name, letter in (("keeper", "A"), ("taker", "B")):
        text += (f'\n[[panel]]\nname = "{name}"\nkind = "command"\n'
                 f'command = [{json.dumps(sys.executable)}, {json.dumps(str(script))}, "{letter}", '
                 f'{json.dumps(str(logs[name]))}]\n')
    text += '\n[[panel]]\nname = "builtin"\nkind = "builtin"\n'
    central.set_config(text)
    return logs


def asked(log):
    return log.read_text().count("@@END-OF-PROMPT@@") if log.exists() else 0


def test_a_human_decision_is_reused_for_the_same_conflict_on_another_branch(central, make_worker, panel):
    apollo, athena, numa = make_worker("Apollo"), make_worker("Athena"), make_worker("Numa")
    apollo.work("sprint/setup", {"tune.py": "RATE = 1\n"})
    central.run_once()
    base = central.rev("main")
    apollo.work("sprint/rate-2", {"tune.py": "RATE = 2\n"}, "Tuned rate")
    central.run_once()

    # Athena changed the same line from the same base: the panel splits, a human decides
    athena.branch("sprint/rate-3", start=base)
    athena.commit("Faster rate", {"tune.py": "RATE = 3\n", "athena.txt": "a\n"})
    athena.push()
    central.run_once()
    first = asked(panel["keeper"])
    assert first >= 1
    assert "(none yet)" in panel["keeper"].read_text()          # no lessons yet
    central.mc("decide", "d-0001", "A", "-m", "the tuned rate stays until the benchmark says otherwise",
               check=True)
    central.run_once()
    assert central.trailers("main")["Resolved-By"] == "human"
    assert central.show("main:tune.py") == "RATE = 2\n"

    # Numa brings the very same change on another branch: resolved as learned, no panel
    numa.branch("sprint/rate-3-again", start=base)
    numa.commit("Faster rate, again", {"tune.py": "RATE = 3\n", "numa.txt": "n\n"})
    numa.push()
    central.run_once()
    trailers = central.trailers("main")
    assert trailers["Resolved-By"] == "learned" and trailers["Merge-Id"] == "m-0004"
    assert central.show("main:tune.py") == "RATE = 2\n"          # resolved as the human did
    assert central.show("main:numa.txt") == "n\n"                # the rest of the branch landed
    assert asked(panel["keeper"]) == asked(panel["taker"]) == first   # the panel was not asked
    assert central.json("log")["merges"][-1]["resolved_by"] == "learned"

    records = [json.loads(line) for line in (central.state / "learning.jsonl").read_text().splitlines()]
    resolved = [r for r in records if r["type"] == "resolved"]
    human = next(r for r in resolved if r["resolved_by"] == "human")
    assert human["human_decision"] == "A" and human["file"] == "tune.py"
    assert human["rationale"].startswith("the tuned rate stays")
    assert human["panel_votes"] == {"keeper": "agreed", "taker": "disagreed", "builtin": "abstained"}
    assert resolved[-1]["resolved_by"] == "learned" and resolved[-1]["learned_from"] == "m-0003"

    # A different conflict on the same file: the panel sits, and is told what the human valued
    numa.branch("sprint/rate-4", start=base)
    numa.commit("Even faster", {"tune.py": "RATE = 4\n"})
    numa.push()
    central.run_once()
    assert asked(panel["keeper"]) > first
    last_prompt = panel["keeper"].read_text().split("@@END-OF-PROMPT@@")[-2]
    assert "the tuned rate stays until the benchmark says otherwise" in last_prompt

    # weights follow agreement with the human; the score is computed, not constant
    status = central.json("status")
    weights = status["panel_weights"]
    assert weights["keeper"] > weights["builtin"] == 1.0 > weights["taker"]
    learning = status["learning"]
    # conflicted merges: m-0003 (human), m-0004 (learned), m-0005 (escalated)
    assert learning["conflicts"] == 3 and learning["autonomy"] == pytest.approx(1 / 3, abs=1e-3)
    assert learning["decisions_compared"] == 1 and learning["agreement"] == 0.0
    assert learning["score"] == round(100 * 0.6 / 3)


def test_a_learned_resolution_is_still_verified(central, make_worker, panel):
    apollo, athena, numa = make_worker("Apollo"), make_worker("Athena"), make_worker("Numa")
    apollo.work("sprint/setup", {"tune.py": "RATE = 1\n"})
    central.run_once()
    base = central.rev("main")
    apollo.work("sprint/rate-2", {"tune.py": "RATE = 2\n"})
    central.run_once()
    athena.branch("sprint/rate-3", start=base)
    athena.commit("Faster rate", {"tune.py": "RATE = 3\n"})
    athena.push()
    central.run_once()
    central.mc("decide", "d-0001", "A", "-m", "keep 2", check=True)
    central.run_once()
    main = central.rev("main")

    # from now on every merge must pass a verify command that refuses numa.txt
    text = (central.state / "config.toml").read_text().replace(
        "[verify]\n", "[verify]\ncommand = [\"sh\", \"-c\", \"! test -e numa.txt\"]\n", 1)
    central.set_config(text)
    numa.branch("sprint/rate-3-again", start=base)
    numa.commit("Faster rate, again", {"tune.py": "RATE = 3\n", "numa.txt": "n\n"})
    numa.push()
    central.run_once()
    assert central.rev("main") == main
    last = central.json("log")["merges"][-1]
    # a learned resolution that fails verification goes to a human, like the panel's would
    assert last["status"] == "escalated" and "verify command exited 1 on the learned merge" in last["detail"]
