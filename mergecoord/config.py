"""The server's configuration: `<repo.git>/mergecoord/config.toml`, read in one place.

The file is the server's own: nothing pushed by a worker is ever read as config.
Imported by the push hooks, so it imports tomllib lazily and nothing else heavy.
"""

from dataclasses import dataclass, field

from .errors import UserError

DEFAULT_PANEL = ({"name": "builtin", "kind": "builtin", "weight": 1.0},)

# section -> key -> (default, accepted types)
SCHEMA = {
    "repo": {
        "main": ("main", str),
        "committer": ("mergecoord <mergecoord@localhost>", str),
        "protect_main": (False, bool),
    },
    "queue": {
        "branches": (["sprint/*"], list),
        "marker": ("READY_TO_MERGE", str),
    },
    "runner": {
        "autostart": (True, bool),
        "poll_interval": (2.0, (int, float)),
    },
    "consensus": {
        "threshold": (0.85, (int, float)),
        "max_rounds": (3, int),
    },
    "verify": {
        "command": ("", (str, list)),
        "timeout": (600, (int, float)),
    },
    "escalation": {
        "always_human": ([], list),
        "deciders": ([], list),
        "remind_after_hours": (24, (int, float)),
    },
    "notify": {
        "webhook": ("", str),
        "timeout": (5, (int, float)),
    },
}


@dataclass(frozen=True)
class Config:
    main: str = "main"
    committer: str = "mergecoord <mergecoord@localhost>"
    protect_main: bool = False
    branches: tuple = ("sprint/*",)
    marker: str = "READY_TO_MERGE"
    autostart: bool = True
    poll_interval: float = 2.0
    workers: dict = field(default_factory=dict)
    threshold: float = 0.85
    max_rounds: int = 3
    panel: tuple = DEFAULT_PANEL
    verify_command: object = ""
    verify_timeout: float = 600
    always_human: tuple = ()
    deciders: tuple = ()
    remind_after_hours: float = 24
    webhook: str = ""
    notify_timeout: float = 5

    @property
    def main_ref(self):
        return "refs/heads/" + self.main

    def branch_matches(self, branch):
        from fnmatch import fnmatchcase

        return any(fnmatchcase(branch, pattern) for pattern in self.branches)

    def worker_name(self, email, name):
        return self.workers.get(email) or self.workers.get(email.lower()) or name or email


def parse(text, source="config.toml"):
    """Config from TOML text; a UserError naming the line or key when it is wrong."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"broken config {source}: {e}") from None
    values = {}
    for section, table in doc.items():
        if section == "workers":
            if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
                raise UserError(f"broken config {source}: [workers] maps emails to names (strings)")
            values["workers"] = {k.strip(): v for k, v in table.items()}
            continue
        if section == "panel":
            values["panel"] = _panel(table, source)
            continue
        if section not in SCHEMA or not isinstance(table, dict):
            raise UserError(f"broken config {source}: unknown section [{section}]")
        for key, value in table.items():
            if key not in SCHEMA[section]:
                raise UserError(f"broken config {source}: unknown key '{key}' in [{section}]")
            default, types = SCHEMA[section][key]
            if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
                raise UserError(f"broken config {source}: {section}.{key} must be {_kind(types)}")
            if not isinstance(value, types):
                raise UserError(f"broken config {source}: {section}.{key} must be {_kind(types)}")
            values[_field(section, key)] = tuple(value) if isinstance(value, list) else value
    if not values.get("branches", ("x",)):
        raise UserError(f"broken config {source}: queue.branches is empty")
    threshold = values.get("threshold", 0.85)
    if not 0 < threshold <= 1:
        raise UserError(f"broken config {source}: consensus.threshold must be in (0, 1]")
    if values.get("max_rounds", 3) < 1:
        raise UserError(f"broken config {source}: consensus.max_rounds must be at least 1")
    return Config(**values)


def _panel(tables, source):
    if not isinstance(tables, list):
        raise UserError(f"broken config {source}: panelists are [[panel]] tables")
    for i, table in enumerate(tables, 1):
        if not isinstance(table.get("kind"), str):
            raise UserError(f"broken config {source}: [[panel]] #{i} needs kind = \"builtin|openai|anthropic|command\"")
        table.setdefault("name", f"{table['kind']}-{i}")
    return tuple(tables) or DEFAULT_PANEL


def _field(section, key):
    renames = {("verify", "command"): "verify_command", ("verify", "timeout"): "verify_timeout",
               ("notify", "timeout"): "notify_timeout"}
    return renames.get((section, key), key)


def _kind(types):
    names = {str: "a string", bool: "true or false", int: "a number", float: "a number",
             list: "a list"}
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(dict.fromkeys(names[t] for t in types))


def load(central):
    path = central.config_path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path} is missing (run 'mergecoord init {central.git_dir}')") from None
    except UnicodeDecodeError:
        raise UserError(f"broken config {path}: not UTF-8 text") from None
    return parse(text, str(path))
