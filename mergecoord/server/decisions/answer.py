"""A human's answer to a decision: parsed, checked and recorded in one place.

The same code judges an answer typed at `git merge-decide` in the bare repository
and an `answer.toml` pushed from a clone (the pre-receive hook checks it, the
post-receive hook records it). It runs inside push hooks, so it imports only the
standard library and the state modules, and it treats an answer file as
untrusted data: unknown keys, wrong types, paths that are not the decision's
files, or oversized text are refused with one line.
"""


from ... import tomlw
from ...errors import UserError
from ..gitolite import is_decider
from ..hook import ANSWERS as ANSWERS_REF, MAX_ANSWER_BYTES  # noqa: F401  (ANSWERS_REF: for remote.py)
from ...state import decisions, journal, queue

MAX_RATIONALE = 4000
ANSWER_KEYS = {"choice", "files", "rationale"}
REJECT = "reject"


class AnswerError(UserError):
    """An answer that cannot be accepted; the message is the one line the human sees."""


def options_of(doc):
    """The option letters of a decision, in order (A, B, then the AI's C, D, ...)."""
    options = doc.get("options") or {}
    return sorted(options, key=lambda label: (len(label), label)) or ["A", "B"]


def prompt_letters(doc):
    return "/".join(options_of(doc))


def normalise(doc, choice, files=None):
    """(choice, {path: letter}) for `choice` and optional per-file choices.

    `choice` is one option letter for every file (`B`), the compact form with one
    letter per conflicted file in the decision's order (`ABB`), or "reject";
    `files` overrides single files. Every conflicted file ends up with a letter."""
    letters = options_of(doc)
    paths = list(doc["files"])
    files = dict(files or {})
    for path, letter in files.items():
        if not isinstance(path, str) or path not in paths:
            raise AnswerError(f"{str(path)[:200]!r} is not a conflicted file of {doc['id']} "
                              f"(files: {', '.join(paths)})")
        if not isinstance(letter, str) or letter.upper() not in letters:
            raise AnswerError(f"invalid choice {str(letter)[:20]!r} for {path} (choose {'/'.join(letters)})")
    if not isinstance(choice, str):
        raise AnswerError("invalid choice (choice must be a string such as \"B\")")
    choice = choice.strip()
    if choice.lower() == REJECT:
        if files:
            raise AnswerError("a rejection sends the whole branch back; it takes no per-file choices")
        return REJECT, {}
    choice = choice.upper()
    per_file = {}
    if choice in letters:
        per_file = {path: choice for path in paths}
    elif choice and len(choice) == len(paths) and len(paths) > 1 and all(c in letters for c in choice):
        per_file = dict(zip(paths, choice))
    elif choice == "" and files:
        pass
    else:
        expected = f"one of {'/'.join(letters)}"
        if len(paths) > 1:
            expected += f", or one letter per file like {'A' * (len(paths) - 1)}B"
        raise AnswerError(f"invalid choice {choice[:20]!r} for {doc['id']} ({expected}, or reject)")
    per_file.update({path: letter.upper() for path, letter in files.items()})
    missing = [p for p in paths if p not in per_file]
    if missing:
        raise AnswerError(f"no choice for {', '.join(missing)} (give CHOICE or --file PATH=CHOICE for each)")
    distinct = set(per_file.values())
    summary = distinct.pop() if len(distinct) == 1 else "".join(per_file[p] for p in paths)
    return summary, per_file


def parse_answer_file(text):
    """The fields of a pushed `answer.toml`; AnswerError on anything unexpected."""
    if isinstance(text, bytes):
        if len(text) > MAX_ANSWER_BYTES:
            raise AnswerError(f"answer.toml is larger than {MAX_ANSWER_BYTES // 1024} KiB")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise AnswerError("answer.toml is not UTF-8 text") from None
    try:
        doc = tomlw.loads(text)
    except ValueError as e:
        raise AnswerError(f"answer.toml is not valid TOML ({str(e)[:120]})") from None
    unknown = sorted(set(doc) - ANSWER_KEYS)
    if unknown:
        raise AnswerError(f"answer.toml has unknown key {unknown[0][:40]!r} (allowed: choice, files, rationale)")
    if not isinstance(doc.get("choice", ""), str):
        raise AnswerError("answer.toml: choice must be a string such as \"B\"")
    files = doc.get("files", {})
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise AnswerError("answer.toml: files must be a table of \"path\" = \"letter\"")
    rationale = doc.get("rationale", "")
    if not isinstance(rationale, str):
        raise AnswerError("answer.toml: rationale must be a string")
    return {"choice": doc.get("choice", ""), "files": files, "rationale": rationale}


def answer_file(choice, files=None, rationale=""):
    """The `answer.toml` text a clone pushes."""
    doc = {"choice": choice, "rationale": rationale}
    if files:
        doc["files"] = dict(files)
    return tomlw.dumps(doc)


def ref_bytes(branch):
    """The ref name of a queued branch as git has it: the hooks carry a name that is not
    UTF-8 with its bytes as backslash escapes, and git never allows a backslash in a ref."""
    raw = branch.encode("utf-8", "surrogateescape")
    if b"\\" not in raw:
        return raw
    import codecs

    return codecs.escape_decode(raw)[0]


def branch_tips(git_dir, branches):
    """{branch: the commit its ref points at, or None when it is gone}, from one
    `git for-each-ref` (standard library only: the push hooks use it)."""
    import subprocess

    refs = {branch: b"refs/heads/" + ref_bytes(branch) for branch in branches}
    if not refs:
        return {}
    proc = subprocess.run(["git", "--git-dir", str(git_dir), "for-each-ref", "--format=%(objectname) %(refname)",
                           *refs.values()], capture_output=True, check=True)
    found = {}
    for line in proc.stdout.split(b"\n"):
        sha, _, ref = line.partition(b" ")
        if ref:
            found[ref] = sha.decode()
    return {branch: found.get(ref) for branch, ref in refs.items()}


def moved_on(branch, sha, tip, decision_id):
    """Why a decision about `branch` at `sha` no longer stands now that the branch is at
    `tip` (None: deleted), or "": the latest tip wins, for decisions too."""
    if tip == sha:
        return ""
    if tip is None:
        return f"{branch} was deleted; decision {decision_id} is withdrawn with it"
    return (f"{branch} was pushed again ({tip[:10]}): the latest tip wins, and decision "
            f"{decision_id} was about {sha[:10]}")


def check(central, config, decision_id, fields, user, entered_by=""):
    """The decision and the normalised answer, or AnswerError with the reason.

    Checks, in order: the id exists, it is still pending, its branch is still at the
    commit it is about, the user may decide, the choice is one of the decision's options."""
    if not decisions.valid_id(decision_id):
        raise AnswerError(f"unknown decision {str(decision_id)[:40]!r} (ids look like d-0001)")
    try:
        doc = decisions.load(central, decision_id)
    except decisions.DecisionError as e:
        raise AnswerError(str(e)) from None
    if doc["status"] != "pending":
        raise AnswerError(decisions.describe_status(doc))
    branch = doc.get("branch", "")
    moved = moved_on(branch, doc.get("sha", ""), branch_tips(central.root, [branch]).get(branch), decision_id)
    if moved:
        raise AnswerError(f"decision {decision_id} is superseded: {moved}")
    if config.deciders and not is_decider(user, config.deciders):
        raise AnswerError(f"{user} may not decide (escalation.deciders: {', '.join(config.deciders)})")
    rationale = fields.get("rationale") or ""
    if len(rationale) > MAX_RATIONALE:
        raise AnswerError(f"rationale is longer than {MAX_RATIONALE} characters")
    choice, per_file = normalise(doc, fields.get("choice", ""), fields.get("files"))
    answer = {"choice": choice, "files": per_file, "rationale": rationale, "decided_by": user,
              "decided_at": decisions.now()}
    if entered_by:           # the owner typed it on the server for `user` (git merge-decide --as)
        answer["entered_by"] = entered_by
    return doc, answer


def submit(central, config, decision_id, fields, user, entered_by=""):
    """Check and record an answer, and queue its application for the runner.

    Returns (decision, queue entry). The runner re-merges the branch on the
    current main and applies the choice (or, for "reject", sends it back)."""
    with central.lock:
        doc, answer = check(central, config, decision_id, fields, user, entered_by)
        doc = decisions.update(central, decision_id, expect="pending", status="decided", answer=answer)
        journal.record(central, doc["merge_id"], "decided", decision=decision_id, choice=answer["choice"],
                       decided_by=user, branch=doc["branch"],
                       **({"entered_by": entered_by} if entered_by else {}))
        entry, _position, _replaced = queue.enqueue(
            central, doc["branch"], doc["sha"], doc.get("options", {}).get("B", {}).get("worker", ""),
            kind="decision", decision=decision_id, merge_id=doc["merge_id"])
    return doc, entry
