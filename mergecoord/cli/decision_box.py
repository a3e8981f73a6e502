"""How a decision looks to the human: the seed's decision box, a one-line listing, and
the diff between its two sides.

Decisions hold what pushes and panelists wrote (paths, messages, rationales): every text
in the box goes through `untrusted.printable` before it reaches a terminal.
"""

import subprocess
import textwrap
import unicodedata

from ..untrusted import printable

WIDTH = 64          # inside the box


def display_width(text):
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 0 if unicodedata.combining(ch) else 1
               for ch in text)


def _pad(text, width=WIDTH):
    return text + " " * max(0, width - display_width(text))


def _wrap(text, indent, first=""):
    lines = textwrap.wrap(printable(text), width=WIDTH - 1 - len(indent), initial_indent=first,
                          subsequent_indent=" " * len(first), break_long_words=True) or [first]
    return [indent + line for line in lines]


def vote_line(doc):
    tally = dict((doc.get("vote") or {}).get("tally") or {})
    abstain = tally.pop("abstain", 0)
    parts = [f"{n} for {label}" for label, n in sorted(tally.items(), key=lambda kv: (len(kv[0]), kv[0]))]
    parts.append(f"{abstain} abstain")
    return ", ".join(parts)


def panelist_lines(doc):
    """One line per panelist of the last round: its vote (for A, for B, for a synthesis C,
    or abstains), whether it spoke for its own side, and its one-line reason."""
    lines = []
    for row in (doc.get("vote") or {}).get("panelists") or []:
        if not isinstance(row, dict):
            continue
        label, reason = str(row.get("vote", "abstain")), str(row.get("reason", ""))
        notes = []
        if row.get("advocate"):
            notes.append("own side" if row.get("advocate") == label else f"speaks for {row['advocate']}")
            if row.get("counted") is False:
                notes.append("not counted")
        if label == "abstain":
            stand = "recuses" if row.get("recused") else "abstains"
        else:
            stand = f"for {label}" + ("" if label in ("A", "B") else ", a synthesis")
            confidence = row.get("confidence")
            if isinstance(confidence, (int, float)) and not isinstance(confidence, bool):
                notes.append(f"{confidence:.0%}")
        head = f"[{row.get('name', '?')}] {stand}" + (f" ({', '.join(notes)})" if notes else "")
        lines.append(head + (f": {reason}" if reason else ""))
    return lines


def option_letters(doc):
    return sorted(doc.get("options") or {}, key=lambda label: (len(label), label))


def box(doc):
    """The decision box of the seed's human-escalation scenario, for one decision."""
    body = [""]
    body += _wrap(f"Decision: {doc['id']} ({doc.get('merge_id', '')}, {doc.get('branch', '')})", " ")
    files = doc.get("files") or []
    label = "File" if len(files) == 1 else "Files"
    for i, path in enumerate(files):
        kind = (doc.get("kinds") or {}).get(path, "content")
        note = "" if kind == "content" else f" ({kind})"
        body += _wrap(f"{path}{note}", " ", f"{label}: " if i == 0 else " " * (len(label) + 2))
    body.append("")
    body += _wrap(f"AI Vote: {vote_line(doc)}", " ")
    for line in panelist_lines(doc):
        body += _wrap(line, "   ")
    comment = (doc.get("vote") or {}).get("comment") or doc.get("reason") or ""
    if comment:
        body += _wrap(f'AI Comment: "{comment}"', " ")
    if doc.get("apply_error"):
        body += _wrap(f"Last answer could not be applied: {doc['apply_error']}", " ")
    for letter in option_letters(doc):
        option = doc["options"][letter]
        body.append("")
        body += _wrap(f"[{letter}] {option.get('label', letter)}:", " ")
        if option.get("summary"):
            body += _wrap(option["summary"], "     ")
        if option.get("pros"):
            body += _wrap(", ".join(option["pros"]), "     ", "+ Pros: ")
        if option.get("cons"):
            body += _wrap(", ".join(option["cons"]), "     ", "- Cons: ")
    body.append("")
    title = "🤖 HUMAN MERGE DECISION NEEDED"
    left = (WIDTH - display_width(title)) // 2
    lines = ["╔" + "═" * WIDTH + "╗",
             "║" + _pad(" " * left + title) + "║",
             "╠" + "═" * WIDTH + "╣"]
    lines += ["║" + _pad(line) + "║" for line in body]
    lines.append("╚" + "═" * WIDTH + "╝")
    return "\n".join(lines)


def answered(answer):
    """`B by alice` (and who typed it, when the owner answered for alice with --as)."""
    entered = f", entered by {answer['entered_by']}" if answer.get("entered_by") else ""
    return f"{answer.get('choice')} by {answer.get('decided_by')}{entered}"


def listing(doc):
    files = ", ".join(map(printable, doc.get("files") or []))
    if doc["status"] == "damaged":
        return f"{doc['id']}  damaged   {printable(doc.get('error', ''))}"
    answer = doc.get("answer") or {}
    extra = f"  {printable(answered(answer))}" if answer else ""
    return (f"{doc['id']}  {doc['status']:<10} {printable(doc.get('merge_id', ''))}  {printable(doc.get('branch', ''))}  "
            f"[{printable('/'.join(option_letters(doc)))}]  {files}{extra}")


def diff(git_dir, doc):
    """main's side (A) against the branch's side (B) of the conflicted files, as `git diff`
    shows it; a one-line note when the commits are not available."""
    missing = [sha for sha in (doc.get("main"), doc.get("sha"))
               if not sha or subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "-e", f"{sha}^{{commit}}"],
                                            capture_output=True).returncode]
    if missing:
        return "(diff unavailable: the commits of this decision are not in this repository)\n"
    proc = subprocess.run(["git", "--git-dir", str(git_dir), "diff", "--no-color", "--src-prefix=A/",
                           "--dst-prefix=B/", doc["main"], doc["sha"], "--", *doc["files"]],
                          capture_output=True, text=True, errors="replace")
    header = f"# A = main at escalation ({doc['main'][:10]}), B = {doc['branch']} ({doc['sha'][:10]})\n"
    return header + (proc.stdout or "(no textual difference)\n")
