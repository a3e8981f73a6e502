"""A panel that proposed its own resolution without reaching the threshold: the human sees it
as option C next to A and B, and can choose it."""

import sys
import tomllib

from decide_story import APOLLO_STORAGE, STORAGE, Terminal, escalate, human_clone, merge_decide, tool_env

SYNTHESIS = '''        if query in self.cache:
            return self.cache[query][:limit]
        batch = self.backend.query_batch([query])
        results = [zlib.decompress(r) for r in batch[0]]
        self.cache[query] = results
        return results[:limit]
'''

AGENT = '''import json, sys
sys.stdin.read()
if sys.argv[1] == "metis":
    print(json.dumps({"vote": "propose", "confidence": 0.6, "rationale": "cache the decompressed batch",
                      "hunks": {%(path)r: [%(text)r]}}))
else:
    print(json.dumps({"vote": "endorse", "candidate": "B", "confidence": 0.5,
                      "rationale": "compression matters at scale"}))
'''


def panel_config(tmp_path):
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT % {"path": STORAGE, "text": SYNTHESIS})
    return "".join(f'\n[[panel]]\nname = "{name}"\nkind = "command"\ncommand = [{sys.executable!r}, '
                   f'{str(agent)!r}, "{name}"]\n'.replace("'", '"') for name in ("metis", "rhetor"))


def test_the_panels_own_proposal_is_option_c_and_can_be_chosen(central, make_worker, tmp_path):
    central.set_config((central.state / "config.toml").read_text() + panel_config(tmp_path))
    apollo, athena, _numa = escalate(central, make_worker)

    doc = tomllib.loads((central.state / "decisions" / "d-0001.toml").read_text())
    assert sorted(doc["options"]) == ["A", "B", "C"]
    assert doc["vote"]["tally"] == {"A": 0, "B": 1, "C": 1, "abstain": 0}
    c = doc["options"]["C"]
    assert c["panelists"] == ["metis"] and c["worker"] == "panel"
    assert "backed by metis: cache the decompressed batch" in c["pros"]
    assert SYNTHESIS in c["texts"][STORAGE]
    assert "backed by rhetor: compression matters at scale" in doc["options"]["B"]["pros"]
    assert "no panelist backed it" in doc["options"]["A"]["cons"]

    clone = human_clone(tmp_path, central)
    term = Terminal(["git", "merge-decide"], clone, tool_env(GL_USER="casey"))
    screen = term.read_until("Choose [A/B/C]: ")
    assert "[C] AI proposal C:" in screen
    term.type("c")
    term.read_until("Rationale (optional): ")
    term.type("")
    assert term.finish() == 0, term.output
    assert "decision d-0001 answered C by casey" in term.output

    central.run_once()
    merged = central.show(f"main:{STORAGE}")
    assert SYNTHESIS in merged
    assert "import zlib" in merged and "def parallel_query" in merged   # both sides' other changes
    assert central.trailers()["Resolved-By"] == "human"
    workers = sorted(tomllib.loads(p.read_text())["worker"] for p in (central.state / "inbox").rglob("t-*.toml"))
    assert workers == ["Apollo", "Athena"]


def test_a_stale_panel_proposal_is_not_applied_over_a_moved_main(central, make_worker, tmp_path):
    """Main changed the conflicted file after the escalation: C was written for the old
    version, so it goes back to the panel instead of overwriting newer work."""
    central.set_config((central.state / "config.toml").read_text() + panel_config(tmp_path))
    apollo, _athena, _numa = escalate(central, make_worker)
    apollo.work("sprint/docstring", {STORAGE: APOLLO_STORAGE.replace('"""Vector storage."""',
                                                                      '"""Vector storage, cached."""')},
                "Describe the cache")
    central.run_once()
    assert merge_decide(central.path, "d-0001", "C").returncode == 0
    central.run_once()
    assert "Vector storage, cached." in central.show(f"main:{STORAGE}")
    doc = tomllib.loads((central.state / "decisions" / "d-0001.toml").read_text())
    assert doc["status"] == "superseded" and doc["superseded_by"] == "d-0002"
    new = tomllib.loads((central.state / "decisions" / "d-0002.toml").read_text())
    assert new["previous"] == "d-0001" and new["status"] == "pending"
    assert new["reason"].startswith(f"main moved: {STORAGE} conflicted again and d-0001 does not cover it")
