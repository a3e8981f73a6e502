"""A decision's answer as it travels: the `answer.toml` a clone pushes to
`refs/mergecoord/answers/<id>`, its keys, and how a choice is read (`B`, `ABB`, per-file
choices, `reject`) against the decision's options.

Shared by the server's push hooks, which check and record answers, and a clone's
`git merge-decide`, which writes them: the standard library and the TOML writer only
(imported where a file is read or written: every push needs the ref name, few carry an answer).
An answer file is hostile data: unknown keys, wrong types, paths that are not the
decision's files or oversized text are refused with one line (`AnswerError`).
"""

from ..errors import UserError

ANSWERS = "refs/mergecoord/answers/"     # where clones push decision answers
MAX_ANSWER_BYTES = 64 * 1024
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
    from .. import tomlw

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
    from .. import tomlw

    doc = {"choice": choice, "rationale": rationale}
    if files:
        doc["files"] = dict(files)
    return tomlw.dumps(doc)
