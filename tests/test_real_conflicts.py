"""Real conflicts from public histories (tests/realcorpus/, mined by bench/mine_corpus.py):
the built-in panel never settles a file differently from the person who merged it, except
where tests/realcorpus/equivalent.txt says why the two are the same. The figures per
language are printed and recorded as junit properties."""

from collections import Counter, defaultdict

import pytest

import real_conflicts

# the corpus holds other projects' old Python ("\s" in plain strings): parsing it warns
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")


def test_the_corpus_is_there():
    repositories = real_conflicts.repositories()
    assert len(repositories) >= 5
    kinds = set()
    for path in repositories:
        document = real_conflicts.load(path)
        assert document["repository"] and document["merges"]
        kinds |= {real_conflicts.kind_of(f["path"]) for m in document["merges"] for f in m["files"]}
    assert {"c", "go", "rust", "java", "javascript", "python", "ruby", "changelog"} <= kinds


def test_no_real_conflict_is_settled_wrong(capsys, record_property):
    verdicts, merges = real_conflicts.replay()
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for v in verdicts:
        by_kind[v.language][v.verdict] += 1
    total = Counter(v.verdict for v in verdicts)
    settled = total["same"] + total["equivalent"]
    lines = [f"{'kind':12} {'files':>6} {'settled':>8} {'same':>6} {'equiv':>6} {'escalated':>10}"]
    for kind, c in sorted(by_kind.items(), key=lambda kv: -sum(kv[1].values())):
        lines.append(f"{kind:12} {sum(c.values()):6} {c['same'] + c['equivalent']:8} {c['same']:6} "
                     f"{c['equivalent']:6} {c['escalated']:10}")
    lines.append(f"{len(verdicts)} conflicted files: {settled} settled ({settled / len(verdicts):.1%}), "
                 f"{total['same']} same as the human, {total['equivalent']} equivalent, {total['wrong']} wrong; "
                 f"{merges['landed']} of {merges['judged']} merges landed whole "
                 f"({merges['landed'] / max(1, merges['judged']):.1%})")
    for name, value in (("files", len(verdicts)), ("settled", settled), ("wrong", total["wrong"]),
                        ("merges", merges["judged"]), ("landed", merges["landed"])):
        record_property(name, value)
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    wrong = [f"{v.repository} {v.commit[:12]} {v.path}: {v.how}" for v in verdicts if v.verdict == "wrong"]
    assert wrong == []
    listed = real_conflicts.equivalents()
    used = {(v.commit[:12], v.path) for v in verdicts if v.verdict == "equivalent"}
    assert set(listed) == used, "equivalent.txt lists files that are no longer settled differently"
