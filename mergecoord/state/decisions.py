"""Decision files: `<state>/decisions/d-NNNN.toml`, the only module that touches them.

A decision is the question put to a human when the panel could not settle a
conflict (DESIGN.md §5). Files are written atomically under the state lock; a
damaged file is reported as such in listings and never hides the others.
Imported by the push hooks: standard library and the TOML writer only.
"""

import re
import time

from .. import tomlw
from ..errors import UserError
from . import ids
from .files import atomic_write

ID_RE = re.compile(r"d-[0-9]{4,9}")
STATUSES = ("pending", "decided", "applied", "superseded", "rejected")


class DecisionError(UserError):
    """A decision that does not exist or cannot be read."""


def valid_id(decision_id):
    return isinstance(decision_id, str) and ID_RE.fullmatch(decision_id) is not None


def _dir(central):
    return central.path("decisions")


def path_of(central, decision_id):
    if not valid_id(decision_id):
        raise DecisionError(f"unknown decision {decision_id!r} (ids look like d-0001; see 'git merge-decide list')")
    return _dir(central) / f"{decision_id}.toml"


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write(central, doc):
    _dir(central).mkdir(exist_ok=True)
    atomic_write(path_of(central, doc["id"]), tomlw.dumps(doc))


def create(central, doc):
    """Give `doc` the next d- id, status pending and a creation time; write it; return the id."""
    with central.lock:
        decision_id = ids.allocate(central, "d")
        full = {"id": decision_id, "status": "pending", "created": now()}
        full.update({k: v for k, v in doc.items() if k not in full})
        _write(central, full)
        return decision_id


def read_text(central, decision_id):
    try:
        return path_of(central, decision_id).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DecisionError(f"unknown decision {decision_id} (see 'git merge-decide list')") from None


def _is(kind):
    return lambda v: isinstance(v, kind) and not isinstance(v, bool)


def _list_of(check):
    return lambda v: isinstance(v, list) and all(check(x) for x in v)


def _table_of(check):
    return lambda v: isinstance(v, dict) and all(isinstance(k, str) and check(x) for k, x in v.items())


def _table(**fields):
    return lambda v: isinstance(v, dict) and all(k not in v or ok(v[k]) for k, ok in fields.items())


_text, _number = _is(str), _is((int, float))
_OPTION = _table(label=_text, worker=_text, summary=_text, pros=_list_of(_text), cons=_list_of(_text),
                 texts=_table_of(_text))
_ANSWER = _table(choice=_text, files=_table_of(_text), rationale=_text, decided_by=_text, decided_at=_text)
# What every reader of a decision relies on. A file that parses but breaks one of these
# (`files = [1]`, an option that is a number) is damaged: listed as such, never applied,
# never met later as a TypeError in the runner or in `git merge-decide`.
SHAPE = {"files": _list_of(_text), "merge_id": _text, "branch": _text, "sha": _text, "worker": _text,
         "main": _text, "created": _text, "reason": _text, "kinds": _table_of(_text), "rounds": _number,
         "confidence": _number, "vote": _table(tally=_table_of(_number), comment=_text),
         "options": _table_of(_OPTION), "answer": _ANSWER, "failed_answer": _ANSWER, "apply_error": _text,
         "applied_commit": _text, "superseded_by": _text, "previous": _text}


def parse(text, source):
    try:
        doc = tomlw.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise DecisionError(f"decision file {source} is damaged ({e}); it needs repair by hand") from None
    if not valid_id(doc.get("id")) or doc.get("status") not in STATUSES or "files" not in doc:
        raise DecisionError(f"decision file {source} is damaged (id, status or files missing); "
                            "it needs repair by hand")
    wrong = [key for key, ok in SHAPE.items() if key in doc and not ok(doc[key])]
    if wrong:
        raise DecisionError(f"decision file {source} is damaged ({wrong[0]} has the wrong type); "
                            "it needs repair by hand")
    return doc


def load(central, decision_id):
    """The decision as a dict; DecisionError (one line) when unknown or damaged."""
    return parse(read_text(central, decision_id), f"{decision_id}.toml")


def all_decisions(central):
    """Every decision, oldest first. A damaged file is listed as
    {"id": ..., "status": "damaged", "error": ...} rather than hiding the others."""
    directory = _dir(central)
    if not directory.is_dir():
        return []
    out = []
    for path in sorted(directory.glob("d-*.toml")):
        decision_id = path.stem
        if not valid_id(decision_id):
            continue
        try:
            out.append(parse(path.read_text(encoding="utf-8"), path.name))
        except (DecisionError, OSError, UnicodeDecodeError) as e:
            out.append({"id": decision_id, "status": "damaged", "error": str(e), "files": []})
    return out


def pending(central):
    return [d for d in all_decisions(central) if d["status"] == "pending"]


def update(central, decision_id, expect=None, **fields):
    """Set `fields` on a decision under the state lock and return the new document.

    With `expect` (a status or a tuple of statuses), the update only happens when the
    decision is in one of them; otherwise DecisionError names the status it is in.
    A field set to None is removed."""
    with central.lock:
        doc = load(central, decision_id)
        if expect is not None:
            allowed = (expect,) if isinstance(expect, str) else tuple(expect)
            if doc["status"] not in allowed:
                raise DecisionError(describe_status(doc))
        for key, value in fields.items():
            if value is None:
                doc.pop(key, None)
            else:
                doc[key] = value
        _write(central, doc)
        return doc


def describe_status(doc):
    """Why a decision can no longer be answered, in one line."""
    answer = doc.get("answer") or {}
    status = doc["status"]
    if status == "decided":
        return (f"decision {doc['id']} is already decided ({answer.get('choice', '?')} by "
                f"{answer.get('decided_by', '?')} at {answer.get('decided_at', '?')})")
    if status == "applied":
        return f"decision {doc['id']} is already decided and applied ({doc.get('applied_commit', '')[:10]})"
    if status == "rejected":
        return f"decision {doc['id']} is already decided: the branch was sent back to its worker"
    if status == "superseded":
        return f"decision {doc['id']} is superseded ({doc.get('superseded_by') or 'the branch moved on'})"
    return f"decision {doc['id']} is {status}"
