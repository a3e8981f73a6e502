"""The server's configuration: `<repo.git>/mergecoord/config.toml`, read in one place.

The file is the server's own: nothing pushed by a worker is ever read as config.
Imported by the push hooks, so it imports tomllib lazily and nothing else heavy.
"""

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
        "advocates": (False, bool),
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
        "format": ("json", str),
    },
}


def _field(section, key):
    renames = {("verify", "command"): "verify_command", ("verify", "timeout"): "verify_timeout",
               ("notify", "timeout"): "notify_timeout", ("notify", "format"): "notify_format"}
    return renames.get((section, key), key)


# Field -> default. Config is a plain frozen class rather than a dataclass: the
# push hook loads it, and importing `dataclasses` costs every push ~5 ms.
DEFAULTS = {_field(section, key): tuple(default) if isinstance(default, list) else default
            for section, table in SCHEMA.items() for key, (default, _types) in table.items()}
# workers: author email -> name; worker_panelists: worker name -> the [[panel]] entry that
# is its agent (from [workers.NAME] tables). None: a fresh {} per Config.
DEFAULTS.update(workers=None, worker_panelists=None, panel=DEFAULT_PANEL)


class Config:
    """The server's settings, immutable once loaded."""

    __slots__ = tuple(DEFAULTS)

    def __init__(self, **values):
        unknown = set(values) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown Config fields: {', '.join(sorted(unknown))}")
        for key, default in DEFAULTS.items():
            value = values.get(key, default)
            object.__setattr__(self, key, {} if value is None and key in ("workers", "worker_panelists") else value)

    def __setattr__(self, key, value):
        raise AttributeError("Config is immutable")

    def __eq__(self, other):
        return isinstance(other, Config) and all(
            getattr(self, k) == getattr(other, k) for k in DEFAULTS)

    def __repr__(self):
        return "Config(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in DEFAULTS) + ")"

    @property
    def main_ref(self):
        return "refs/heads/" + self.main

    def branch_matches(self, branch):
        return branch_matches(branch, self.branches)

    def worker_name(self, email, name):
        return self.workers.get(email) or self.workers.get(email.lower()) or name or email


def branch_matches(branch, patterns):
    """Whether `branch` (without refs/heads/) may be queued under `queue.branches`;
    the server and the workers' clones judge it by this one rule."""
    from fnmatch import fnmatchcase

    return any(fnmatchcase(branch, pattern) for pattern in patterns)


def parse(text, source="config.toml"):
    """Config from TOML text; a UserError naming the line or key when it is wrong."""
    return Config(**_values(text, source))


def _values(text, source):
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
            values.update(_workers(table, source))
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
    from .webhooks import FORMATS

    if values.get("notify_format", "json") not in FORMATS:
        raise UserError(f"broken config {source}: notify.format must be one of {', '.join(FORMATS)}")
    if values.get("max_rounds", 3) < 1:
        raise UserError(f"broken config {source}: consensus.max_rounds must be at least 1")
    kinds = {p.get("name"): p.get("kind") for p in values.get("panel", DEFAULT_PANEL)}
    for worker, agent in values.get("worker_panelists", {}).items():
        if agent not in kinds:
            raise UserError(f"broken config {source}: [workers.{worker}] panelist {agent!r} "
                            "is not the name of a [[panel]] entry")
        if kinds[agent] == "builtin":
            raise UserError(f"broken config {source}: [workers.{worker}] panelist {agent!r} "
                            "is a builtin panelist, which speaks for no one")
    return values


def _workers(table, source):
    """[workers]: `"email" = "Name"` names authors; a `[workers.Name]` table holds that
    worker's settings (`panelist`: the [[panel]] entry that is its agent)."""
    if not isinstance(table, dict):
        raise UserError(f"broken config {source}: [workers] maps emails to names")
    names, panelists = {}, {}
    for key, value in table.items():
        if isinstance(value, str):
            names[key.strip()] = value
        elif isinstance(value, dict):
            unknown = sorted(set(value) - {"panelist"})
            if unknown:
                raise UserError(f"broken config {source}: unknown key '{unknown[0]}' in [workers.{key}]")
            agent = value.get("panelist")
            if not isinstance(agent, str) or not agent.strip():
                raise UserError(f"broken config {source}: [workers.{key}] panelist must name a [[panel]] entry")
            panelists[key] = agent
        else:
            raise UserError(f"broken config {source}: [workers] maps emails to names (strings), "
                            "or a worker's name to a table of its settings")
    return {"workers": names, "worker_panelists": panelists}


def _panel(tables, source):
    if not isinstance(tables, list):
        raise UserError(f"broken config {source}: panelists are [[panel]] tables")
    for i, table in enumerate(tables, 1):
        if not isinstance(table.get("kind"), str):
            raise UserError(f"broken config {source}: [[panel]] #{i} needs kind = \"builtin|openai|anthropic|command\"")
        table.setdefault("name", f"{table['kind']}-{i}")
    return tuple(tables) or DEFAULT_PANEL


def _kind(types):
    names = {str: "a string", bool: "true or false", int: "a number", float: "a number",
             list: "a list"}
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(dict.fromkeys(names[t] for t in types))


def load(central):
    """The repository's Config. Parsed values are kept in `config.cache.json` beside the
    file together with the text they came from: a push whose config did not change is
    spared importing tomllib (~5 ms); any change to the text parses it again."""
    path = central.file("config.toml")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise UserError(f"{path} is missing (run 'mergecoord init {central.root}')") from None
    except UnicodeDecodeError:
        raise UserError(f"broken config {path}: not UTF-8 text") from None
    import json

    cache = central.file("config.cache.json")
    try:
        with open(cache, encoding="utf-8") as f:
            cached = json.load(f)
        if cached["text"] == text:
            return Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in cached["values"].items()})
    except (OSError, ValueError, TypeError, KeyError):
        pass
    values = _values(text, path)
    try:
        from .state.files import atomic_write

        if central.may_write():   # a reader who is not the owner leaves nothing behind
            atomic_write(cache, json.dumps({"text": text, "values": values}))
    except (OSError, TypeError, ValueError):
        pass                      # a cache that cannot be written only costs time
    return Config(**values)
