"""The server's configuration: `<repo.git>/mergecoord/config.toml`, read in one place.

The file is the server's own: nothing pushed by a worker is ever read as config.
Imported by the push hooks, so it imports tomllib lazily and nothing else heavy.
"""

from .errors import UserError

DEFAULT_PANEL = ({"name": "builtin", "kind": "builtin", "weight": 1.0},)
NOTIFY_FORMATS = ("json", "slack", "discord", "ntfy")     # what server/notify/formats.py writes

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
        "user": ("", str),
        "env": ([], list),
        "parallel": (1, int),
        "batch": (1, int),
        "retries": (0, int),
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
               ("verify", "user"): "verify_user", ("verify", "env"): "verify_env",
               ("verify", "parallel"): "verify_parallel", ("verify", "batch"): "verify_batch",
               ("verify", "retries"): "verify_retries",
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
            rule = RULES.get((section, key))
            problem = rule(value) if rule else None
            if problem:
                raise UserError(f"broken config {source}: {section}.{key} {problem}")
            values[_field(section, key)] = tuple(value) if isinstance(value, list) else value
    if values.get("verify_user") and values.get("verify_parallel", 1) > 1:
        # Each run as verify.user ends by killing every process of that user: it would
        # kill the verifications running beside it.
        raise UserError(f"broken config {source}: verify.parallel > 1 cannot be combined with verify.user "
                        "(set parallel = 1, or use verify.batch)")
    if values.get("notify_format", "json") not in NOTIFY_FORMATS:
        raise UserError(f"broken config {source}: notify.format must be one of {', '.join(NOTIFY_FORMATS)}")
    kinds = {p.get("name"): p.get("kind") for p in values.get("panel", DEFAULT_PANEL)}
    for worker, agent in values.get("worker_panelists", {}).items():
        if agent not in kinds:
            raise UserError(f"broken config {source}: [workers.{worker}] panelist {agent!r} "
                            "is not the name of a [[panel]] entry")
        if kinds[agent] == "builtin":
            raise UserError(f"broken config {source}: [workers.{worker}] panelist {agent!r} "
                            "is a builtin panelist, which speaks for no one")
    return values


# -- the rules a value must follow beyond its type: each returns what is wrong, or None.
# A value the rest of the code cannot use must stop here, with one line naming the key:
# a committer without an email wrote a merge commit git cannot parse onto main, and a
# timeout of 1e400 (infinity) made every verify wait forever.

def _finite(value, low, high, low_open=True):
    import math

    if not math.isfinite(value) or value < low or (low_open and value == low) or value > high:
        return f"must be {'greater than' if low_open else 'at least'} {low:g} and at most {high:g}"
    return None


def _seconds(high):
    return lambda value: _finite(value, 0, high)


def _strings(*, empty_list=True):
    def check(value):
        if not all(isinstance(item, str) and item.strip() for item in value):
            return "must be a list of non-empty strings"
        if not value and not empty_list:
            return "must not be empty"
        return None
    return check


def _identity(value):
    """`Name <email>` as git writes it into a commit: neither part empty, no <, > or newline
    inside them."""
    import re

    if not re.fullmatch(r"[^<>\n\x00]*[^<>\s][^<>\n\x00]* <[^<>\s]+>", value):
        return f"must be 'Name <email>' (got {value[:60]!r})"
    return None


def _branch_name(value):
    """A name git accepts for a branch (the rules of `git check-ref-format --branch`)."""
    bad = (not value or value.startswith(("-", "/", ".")) or value.endswith(("/", ".", ".lock"))
           or ".." in value or "//" in value or "@{" in value or value == "@"
           or any(c in value for c in " ~^:?*[\\") or any(ord(c) < 32 or ord(c) == 127 for c in value)
           or "/." in value)
    return f"must be a branch name (got {value[:60]!r})" if bad else None


def _command(value):
    if isinstance(value, list):
        if not value or not all(isinstance(item, str) and item for item in value):
            return "must be a string or a list of non-empty strings"
    return None


def _variables(value):
    import re

    bad = [v for v in value if not isinstance(v, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v)]
    return f"must be a list of environment variable names (got {str(bad[0])[:40]!r})" if bad else None


def _user(value):
    if not value:
        return None
    import pwd

    try:
        pwd.getpwnam(value)
    except KeyError:
        return f"names no user of this machine ({value[:40]!r})"
    return None


def _marker(value):
    return "must be one word (no spaces)" if not value or any(c.isspace() for c in value) else None


def _webhook(value):
    return None if value == "" or value.startswith(("http://", "https://")) else "must be an http:// or https:// URL"


DAY = 86400.0

RULES = {
    ("repo", "main"): _branch_name,
    ("repo", "committer"): _identity,
    ("queue", "branches"): _strings(empty_list=False),
    ("queue", "marker"): _marker,
    ("runner", "poll_interval"): _seconds(3600),
    ("consensus", "threshold"): lambda v: _finite(v, 0, 1),
    ("consensus", "max_rounds"): lambda v: _finite(v, 1, 100, low_open=False),
    ("verify", "command"): _command,
    ("verify", "timeout"): _seconds(7 * DAY),
    ("verify", "user"): _user,
    ("verify", "env"): _variables,
    ("verify", "parallel"): lambda v: _finite(v, 1, 64, low_open=False),
    ("verify", "batch"): lambda v: _finite(v, 1, 64, low_open=False),
    ("verify", "retries"): lambda v: _finite(v, 0, 10, low_open=False),
    ("escalation", "always_human"): _strings(),
    ("escalation", "deciders"): _strings(),
    ("escalation", "remind_after_hours"): lambda v: _finite(v, 0, 24 * 365, low_open=False),
    ("notify", "webhook"): _webhook,
    ("notify", "timeout"): _seconds(3600),
}


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
    """The [[panel]] tables, checked as far as every kind shares them (what each kind takes
    is checked where panelists are built, when the runner starts)."""
    import math

    if not isinstance(tables, list):
        raise UserError(f"broken config {source}: panelists are [[panel]] tables")
    for i, table in enumerate(tables, 1):
        where = f"broken config {source}: [[panel]] entry {i}"
        if not isinstance(table, dict):
            raise UserError(f"{where} is not a table")
        if not isinstance(table.get("kind"), str):
            raise UserError(f"{where} needs kind = \"builtin|openai|anthropic|command\"")
        name = table.setdefault("name", f"{table['kind']}-{i}")
        if not isinstance(name, str) or not name.strip():
            raise UserError(f"{where}: name must be a non-empty string")
        for key, value in table.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise UserError(f"{where} ({name}): {key} must be a finite number")
    return tuple(tables) or DEFAULT_PANEL


def _kind(types):
    names = {str: "a string", bool: "true or false", int: "a number", float: "a number",
             list: "a list"}
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(dict.fromkeys(names[t] for t in types))


# Bumped whenever the rules above change, so that values cached by an older version
# (which may have let through what is now refused) are checked again.
CACHE_FORMAT = 3
# The pre-receive launcher (sh) starts Python only when a push needs it; what it needs to
# know comes from here, derived from the parsed config, never from grepping the file.
PROTECTED_REFS = "protected.refs"          # refs only mergecoord may move, one a line
PROTECTED_SOURCE = "protected.source"      # the exact config text that list was derived from


def protected_refs(values):
    """The refs no push may move (besides refs/mergecoord/*, which no push ever writes
    but through an answer): main, when repo.protect_main is set."""
    return ["refs/heads/" + values.get("main", DEFAULTS["main"])] if values.get("protect_main") else []


def load(central):
    """The repository's Config. Parsed values are kept in `config.cache.json` beside the
    file together with the text they came from: a push whose config did not change is
    spared importing tomllib (~5 ms); any change to the text parses it again."""
    path = central.file("config.toml")
    try:
        with open(path, "rb") as f:
            raw = f.read()
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise UserError(f"{path} is missing (run 'mergecoord init {central.root}')") from None
    except UnicodeDecodeError:
        raise UserError(f"broken config {path}: not UTF-8 text") from None
    import json

    cache = central.file("config.cache.json")
    values = None
    try:
        with open(cache, encoding="utf-8") as f:
            cached = json.load(f)
        if cached["text"] == text and cached.get("format") == CACHE_FORMAT:
            values = {k: tuple(v) if isinstance(v, list) else v for k, v in cached["values"].items()}
            config = Config(**values)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        values = None
    if values is None:
        values = _values(text, path)
        config = Config(**values)
        try:
            from .state.files import atomic_write

            if central.may_write():   # a reader who is not the owner leaves nothing behind
                atomic_write(cache, json.dumps({"format": CACHE_FORMAT, "text": text, "values": values}))
        except (OSError, TypeError, ValueError):
            pass                  # a cache that cannot be written only costs time
    _share_with_launcher(central, raw, values)
    return config


def _share_with_launcher(central, raw, values):
    """Write what the pre-receive launcher reads: the protected refs, and a copy of the
    config bytes they came from. The launcher trusts the list only while `cmp -s` finds the
    copy identical to config.toml; in any other state it runs Python, which parses the
    config itself, so a stale or half-written pair can only cost time, never let a push
    through. The copy goes first out of the way, then the list, then the copy again."""
    import os

    source = central.file(PROTECTED_SOURCE)
    try:
        with open(source, "rb") as f:
            if f.read() == raw and os.path.exists(central.file(PROTECTED_REFS)):
                return
    except OSError:
        pass
    if not central.may_write():
        return                    # another user's push: the owner's next one writes them
    from .state.files import LockTimeout, atomic_write

    try:
        with central.lock:
            try:
                os.unlink(source)
            except FileNotFoundError:
                pass
            atomic_write(central.file(PROTECTED_REFS), "".join(f"{ref}\n" for ref in protected_refs(values)))
            atomic_write(source, raw)
    except (OSError, LockTimeout):
        pass                      # the launcher then runs Python for every push: slower, as safe
