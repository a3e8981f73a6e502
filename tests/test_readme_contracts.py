"""The README is the front door: its configuration table, its command table and its
`--json` formats are checked here against SCHEMA, the template, the click commands and the
output of a real run (pushes into a real bare repository), so that none of them drifts
away from what a user meets."""

import json
import re
import sys

import click

from conftest import ROOT

README = (ROOT / "README.md").read_text()


def section(title):
    """The README's `## title` section, up to the next `## ` heading."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else len(README)]


def toml_value(text):
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    return tomllib.loads(f"x = {text}")["x"]


def documented_json(after):
    """The first ```json block after the text `after`."""
    start = README.index("```json\n", README.index(after)) + len("```json\n")
    return json.loads(README[start:README.index("```", start)])


def test_configuration_table_template_and_schema_agree():
    from mergecoord.config import SCHEMA

    table = {}
    for row in re.finditer(r"^\| `([^`]+)` \| `([^`]+)`", section("Configuration reference"), re.M):
        table[row.group(1)] = row.group(2)
    template, current = {}, None
    for line in (ROOT / "templates" / "mergecoord.toml").read_text().splitlines():
        header = re.match(r"\[([a-z_]+)\]$", line)
        if header or line == "# [[panel]]":           # a commented [[panel]] example is no section
            current = header.group(1) if header else None
            continue
        setting = re.match(r"# ([a-z_]+) = (.*?)(\s+#.*)?$", line)
        if setting and current in SCHEMA:
            template[f"{current}.{setting.group(1)}"] = toml_value(setting.group(2))
    schema = {f"{section}.{key}": default for section, keys in SCHEMA.items()
              for key, (default, _types) in keys.items()}
    for key, default in schema.items():
        assert key in table, f"{key} is missing from the README's configuration table"
        assert toml_value(table[key]) == default, f"the README gives {key} the default {table[key]}"
        assert key in template, f"{key} is missing from templates/mergecoord.toml"
        assert template[key] == default, f"the template gives {key} the default {template[key]!r}"
    assert sorted(set(table) - set(schema)) == []           # nothing documented that the code refuses
    assert sorted(set(template) - set(schema)) == []


def test_command_table_names_every_command_and_option():
    from mergecoord.cli import cli

    cells = re.findall(r"^\| (`[^|]*) \|", section("Commands"), re.M)
    decisions = section("Human decisions: `git merge-decide`")

    def row_of(name):
        """The usage the table gives for `name`: one `...` span of a row's first cell."""
        found = [span for cell in cells for span in re.findall(r"`([^`]*)`", cell)
                 if re.match(rf"(mergecoord )?{re.escape(name)}\b", span)]
        assert found, f"mergecoord {name} is not in the README's command table"
        return " ".join(found)

    def options(command):
        return [p for p in command.params if isinstance(p, click.Option) and not p.hidden
                and "--repo" not in p.opts]

    for name, command in cli.commands.items():
        documented = decisions if name == "decide" else row_of(name)
        commands = [command, *getattr(command, "commands", {}).values()]
        for sub in commands:
            for option in options(sub):
                assert any(re.search(rf"{re.escape(opt)}\b", documented) for opt in option.opts), \
                    f"mergecoord {name}: {'/'.join(option.opts)} is not documented"
        if name != "decide":
            known = {opt for sub in commands for option in options(sub) for opt in option.opts}
            for opt in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", documented):
                assert opt in known, f"the README's mergecoord {name} has {opt}, which it does not take"


def same_keys(documented, real, where):
    """Every key the README shows is in the real output and every real key is in the
    README, recursively (a list is compared through its first element when both have one)."""
    if isinstance(documented, dict) and isinstance(real, dict):
        assert sorted(real) == sorted(k for k in documented if k != "..."), where
        for key in documented:
            if key in ("reason", "panel_weights", "pause") or key == "...":
                continue        # fields per reason code, a map of panelists' names, null unless paused
            same_keys(documented[key], real[key], f"{where}.{key}")
    elif isinstance(documented, list) and isinstance(real, list) and documented and real:
        for item in real:
            same_keys(documented[0], item, f"{where}[]")


def test_json_formats_are_what_a_real_run_prints(central, make_worker):
    apollo, athena = make_worker("Apollo"), make_worker("Athena")
    apollo.work("sprint/a", {"app.py": "def f():\n    return 1\n"})
    central.run_once()
    apollo.work("sprint/b", {"app.py": "def f():\n    return 2  # apollo\n"})
    athena.work("sprint/c", {"app.py": "def f():\n    return 3  # athena\n"})
    central.run_once()
    central.mc("decide", "d-0001", "B", "-m", "athena's", check=True)
    central.run_once()
    central.mc("rollback", "m-0003", check=True)
    central.run_once()
    central.mc("pause", "-m", "release freeze", check=True)
    athena.work("sprint/d", {"d.txt": "d\n"})

    queue = central.json("queue")
    assert queue["entries"]
    same_keys(documented_json("`mergecoord queue --json`"), queue, "queue")

    log = central.json("log")
    assert [m["kind"] for m in log["merges"]] == ["branch", "branch", "decision", "rollback", "branch"]
    assert log["merges"][0]["decision"] is None             # "Fields without a value are null"
    documented = documented_json("`mergecoord log --json`")
    for merge in log["merges"]:
        same_keys({"merges": [documented]}, {"merges": [merge]}, merge["id"])
    shown = central.json("show", "m-0003")
    assert shown["kind"] == "decision" and shown["decision"] == "d-0001"
    same_keys({**documented, "history": [{"time": 0, "event": ""}], "transcript": ""}, shown, "show")

    status = central.json("status")
    assert status["paused"] and status["ejections"] and status["learning"]["records"]
    same_keys(documented_json("`mergecoord status --json`"), status, "status")

    inbox = central.json("inbox")
    assert [t["worker"] for t in inbox["tasks"]] == ["Apollo"]
    same_keys(documented_json("`mergecoord inbox --json`"), inbox, "inbox")

    paragraph = README[README.index("`git merge-decide list --json` prints"):]
    words = set(re.findall(r"[a-z_]+", paragraph[:paragraph.index("Status is")]))
    decision = central.json("decide", "list")["decisions"][0]
    assert decision == central.json("decide", "show", "d-0001")
    for name, value in [("", decision), ("options.A", decision["options"]["A"]),
                        ("answer", decision["answer"]), ("vote", decision["vote"])]:
        assert set(value) <= words, f"decision {name}: {sorted(set(value) - words)} not in the README"
