"""The structural strategy of the built-in panel: conflicts of other languages settled by
their syntax tree over real pushes, the refusals that keep it from guessing, and the push
path that never loads it."""

import functools
import subprocess
import sys

import pytest

import real_conflicts
from mergecoord.panel.builtin import resolve_file
from mergecoord.panel.hunks import file_conflict, from_markers

COMMANDS = '''#include "builtin.h"

static struct cmd_struct commands[] = {
\t{ "add", cmd_add, RUN_SETUP },
\t{ "am", cmd_am, RUN_SETUP },
\t{ "branch", cmd_branch, RUN_SETUP },
};

int run_builtin(struct cmd_struct *p, int argc, const char **argv)
{
\treturn p->fn(argc, argv);
}
'''
WITH_ANNOTATE = COMMANDS.replace('\t{ "branch"', '\t{ "annotate", cmd_annotate, RUN_SETUP },\n\t{ "branch"')
WITH_APPLY = COMMANDS.replace('\t{ "branch"', '\t{ "apply", cmd_apply, RUN_SETUP },\n\t{ "branch"')

SERVER = '''package server

import (
\t"fmt"
\t"net/http"
)

type Options struct {
\tAddr    string
\tTimeout int
}

func Start(o Options) error {
\treturn http.ListenAndServe(o.Addr, nil)
}
'''
WITH_TLS = SERVER.replace("\tTimeout int\n", "\tTimeout int\n\tTLS     bool\n").replace(
    "func Start", "func Describe(o Options) string {\n\treturn fmt.Sprint(o.Addr)\n}\n\nfunc Start")
WITH_LOG = SERVER.replace("\tTimeout int\n", "\tTimeout int\n\tLogFile string\n").replace(
    "func Start", "func Stop() error {\n\treturn nil\n}\n\nfunc Start")


def _land_both(central, make_worker, path, base, ours, theirs):
    """Casey lands `base`; Apollo then Athena push their versions: m-0003 meets the conflict."""
    make_worker("Casey").work("sprint/base", {path: base}, "Base")
    central.run_once()
    make_worker("Apollo").work("sprint/apollo", {path: ours}, "Apollo's change")
    make_worker("Athena").work("sprint/athena", {path: theirs}, "Athena's change")
    central.run_once()
    assert central.merge_ids() == ["m-0001", "m-0002", "m-0003"]
    assert central.trailers("main")["Resolved-By"] == "consensus"
    return central.show(f"main:{path}"), central.mc("show", "m-0003", check=True).stdout


def test_entries_added_to_a_c_command_table_by_two_workers_land_together(central, make_worker):
    merged, shown = _land_both(central, make_worker, "git.c", COMMANDS, WITH_ANNOTATE, WITH_APPLY)
    assert merged == COMMANDS.replace('\t{ "branch"', '\t{ "annotate", cmd_annotate, RUN_SETUP },\n'
                                                      '\t{ "apply", cmd_apply, RUN_SETUP },\n\t{ "branch"')
    assert "git.c: hunk 0 by syntax tree (c): entries added on both sides, main's first" in shown


def test_go_struct_fields_and_functions_added_on_both_sides_are_merged(central, make_worker):
    merged, shown = _land_both(central, make_worker, "server/server.go", SERVER, WITH_TLS, WITH_LOG)
    assert "\tTLS     bool\n\tLogFile string\n" in merged
    assert merged.index("func Describe") < merged.index("func Stop") < merged.index("func Start")
    assert "definitions added on both sides" in shown


def _settle(path, base, ours, theirs):
    result = resolve_file(file_conflict(path, base, ours, theirs))
    return result if isinstance(result, str) else result.text


@pytest.mark.parametrize("path, base, ours, theirs, expected", [
    ("app.ts", "import { a } from './a';\nimport { c } from './c';\n\nexport const x = 1;\n",
     "import { a } from './a';\nimport { b } from './b';\nimport { c } from './c';\n\nexport const x = 1;\n",
     "import { a } from './a';\nimport { bb } from './bb';\nimport { c } from './c';\n\nexport const x = 1;\n",
     "import { a } from './a';\nimport { b } from './b';\nimport { bb } from './bb';\nimport { c } from './c';\n\n"
     "export const x = 1;\n"),
    ("lib.rs", "pub mod a;\npub mod z;\n", "pub mod a;\npub mod b;\npub mod z;\n", "pub mod a;\npub mod c;\npub mod z;\n",
     "pub mod a;\npub mod b;\npub mod c;\npub mod z;\n"),
    ("config.json", '{\n  "a": 1,\n  "z": 2\n}\n', '{\n  "a": 1,\n  "b": 3,\n  "z": 2\n}\n',
     '{\n  "a": 1,\n  "c": 4,\n  "z": 2\n}\n', '{\n  "a": 1,\n  "b": 3,\n  "c": 4,\n  "z": 2\n}\n'),
    ("t/t0001-init.sh", "test_expect_success 'one' '\n\ttrue\n'\n\ntest_done\n",
     "test_expect_success 'one' '\n\ttrue\n'\n\ntest_expect_success 'two' '\n\ttrue\n'\n\ntest_done\n",
     "test_expect_success 'one' '\n\ttrue\n'\n\ntest_expect_success 'three' '\n\tfalse\n'\n\ntest_done\n",
     "test_expect_success 'one' '\n\ttrue\n'\n\ntest_expect_success 'two' '\n\ttrue\n'\n\n"
     "test_expect_success 'three' '\n\tfalse\n'\n\ntest_done\n"),
    ("App.tsx", "import { A } from './A';\n\nexport const App = () => <A />;\n",
     "import { A } from './A';\nimport { B } from './B';\n\nexport const App = () => <A />;\n",
     "import { A } from './A';\nimport { C } from './C';\n\nexport const App = () => <A />;\n",
     "import { A } from './A';\nimport { B } from './B';\nimport { C } from './C';\n\nexport const App = () => <A />;\n"),
    # C++: member functions of a class commute (data members do not: see below)
    ("w.hpp", "class W {\npublic:\n    void a();\n};\n", "class W {\npublic:\n    void a();\n    void b();\n};\n",
     "class W {\npublic:\n    void a();\n    int c(int n) const;\n};\n",
     "class W {\npublic:\n    void a();\n    void b();\n    int c(int n) const;\n};\n"),
    ("W.cs", "class W {\n    void A() {}\n}\n", "class W {\n    void A() {}\n\n    void B() {}\n}\n",
     "class W {\n    void A() {}\n\n    void C() {}\n}\n",
     "class W {\n    void A() {}\n\n    void B() {}\n\n    void C() {}\n}\n"),
])
def test_independent_additions_in_other_languages(path, base, ours, theirs, expected):
    assert _settle(path, base, ours, theirs) == expected


@pytest.mark.parametrize("path, base, ours, theirs, why", [
    # one key given two values
    ("config.json", '{\n  "a": 1\n}\n', '{\n  "a": 1,\n  "b": 2\n}\n', '{\n  "a": 1,\n  "b": 3\n}\n',
     "both sides added"),
    # one function rewritten two ways
    ("m.go", "package m\n\nfunc F() int {\n\treturn 1\n}\n", "package m\n\nfunc F() int {\n\treturn 2\n}\n",
     "package m\n\nfunc F() int {\n\treturn 3\n}\n", "both sides changed"),
    # statements added at one place of a function: order is meaning
    ("m.js", "function f() {\n  a();\n}\n", "function f() {\n  a();\n  b();\n}\n",
     "function f() {\n  a();\n  c();\n}\n", "same place"),
    # a method removed on one side and changed on the other
    ("m.rb", "class A\n  def x\n    1\n  end\n\n  def y\n    2\n  end\nend\n",
     "class A\n  def y\n    2\n  end\nend\n", "class A\n  def x\n    10\n  end\n\n  def y\n    2\n  end\nend\n",
     "removed"),
    # new lines use a package the other side renamed
    ("T.java", "import com.old.Util;\n\nclass T {\n    void a() {}\n}\n",
     "import org.neu.Util;\n\nclass T {\n    void a() {}\n\n    void c() {}\n}\n",
     "import com.old.Util;\n\nclass T {\n    void a() {}\n\n    void b() { com.old.Extra.run(); }\n}\n",
     "which the other side removed"),
])
def test_what_is_not_mechanical_is_left_to_the_panel(path, base, ours, theirs, why):
    result = _settle(path, base, ours, theirs)
    assert why in result, result


def test_data_members_of_a_c_or_cpp_struct_are_never_merged_by_union():
    base = "struct P {\n\tint x;\n};\n"
    assert "judgement" in _settle("p.hpp", base, base.replace("\tint x;", "\tint x;\n\tint y;"),
                                  base.replace("\tint x;", "\tint x;\n\tint z;"))


def test_a_c_enum_is_never_merged_by_union():
    base = "enum color {\n\tRED,\n\tBLUE,\n};\n"
    assert "judgement" in _settle("c.h", base, base.replace("\tBLUE", "\tGREEN,\n\tBLUE"),
                                  base.replace("\tBLUE", "\tBLACK,\n\tBLUE"))


def test_the_push_path_never_loads_a_parser():
    """The hook imports what it did before: the standard library and a few light modules of
    ours, never the panel, the merge machinery or a parser."""
    def imports(code):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                              capture_output=True, text=True, check=True)
        return {line.split("|")[-1].strip() for line in proc.stderr.splitlines()[1:] if line.startswith("import time:")}

    imported = imports("import mergecoord.server.hook")
    heavy = sorted(m for m in imported if m.startswith(("mergecoord.panel", "mergecoord.merge", "mergecoord.server.runner")))
    assert heavy == [], heavy
    # the interpreter's own start-up (site, a distribution's sitecustomize such as Debian's apport hook)
    site = {m.split(".")[0] for m in imports("pass")} | {"sitecustomize", "usercustomize", "_distutils_hack"}
    foreign = {m.split(".")[0] for m in imported if not m.startswith("__editable__")}
    foreign -= set(sys.stdlib_module_names) | site | {"mergecoord"}
    assert foreign == set(), foreign


def test_the_built_in_panel_loads_tree_sitter_only_when_a_file_needs_it():
    code = ("import sys; from mergecoord.panel.builtin import resolve_file; "
            "from mergecoord.panel.hunks import file_conflict; "
            "print('tree_sitter' in sys.modules); "
            "resolve_file(file_conflict('a.go', 'package a\\n', 'package a\\n\\nvar X = 1\\n', "
            "'package a\\n\\nvar Y = 2\\n')); print('tree_sitter' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]


# -- real conflicts of the corpus (tests/realcorpus/), one per rule and per refusal -----------

@functools.lru_cache(maxsize=None)
def _repository(name):
    return real_conflicts.load(real_conflicts.CORPUS / f"{name}.json.xz")


def _real(repository, commit, path):
    """The conflict exactly as the runner builds it from git's output, and the human's file."""
    for merge in _repository(repository)["merges"]:
        if merge["commit"].startswith(commit):
            for f in merge["files"]:
                if f["path"] == path:
                    return from_markers(path, f["base"], f["ours"], f["theirs"], f["marked"]), f["human"]
    raise LookupError(f"{repository} {commit} {path} is not in the corpus")


@pytest.mark.parametrize("repository, commit, path, how", [
    # a change git merged cleanly beside the conflict refused the whole-file merge: only git's
    # conflicts are merged by tree now (a shell test added on both sides; a YAML list entry)
    ("git+git", "fea9d18c534a", "t/t1400-update-ref.sh",
     "hunk 0 by syntax tree (bash): definitions added on both sides, main's first"),
    ("jekyll+jekyll", "01c95e85dd6b", "docs/_data/tutorials.yml",
     "hunk 0 by syntax tree (yaml): entries added on both sides, main's first"),
    ("expressjs+express", "db4448dda88f", "examples/error-pages/index.js",
     "hunk 0 by syntax tree (javascript): different parts of the tree changed"),
    # both sides added the same test functions, the branch one more before them: the branch's, in its order
    ("prometheus+prometheus", "84a83f5c8234", "rules/manager_test.go",
     "hunk 0 by syntax tree (go): one side added what the other did, and more"),
    # two one-line declarations added after one blank line stay together, as a person writes them
    ("expressjs+express", "c96c690dc087", "test/app.router.js",
     "hunk 0 by syntax tree (javascript): definitions added on both sides, main's first"),
    # new unit test suites inserted on both sides into the sorted lists of a Makefile and a
    # meson.build: the union in sorted order
    ("git+git", "8d335468eca3", "Makefile", "hunk 0 insertions into a sorted list, in sorted order"),
    ("git+git", "8d335468eca3", "t/meson.build", "hunk 0 insertions into a sorted list, in sorted order"),
    # main dropped the blank line at the end of a class, the branch added a method there (its
    # last brace with trailing spaces): layout only, main's deliberate change of it stands
    ("FasterXML+jackson-databind", "2fb677b13c10",
     "src/test/java/tools/jackson/databind/records/tofix/RecordWIthJsonIgnoreAndValue4628Test.java",
     "hunk 0 by syntax tree (java): only blank lines or spaces at the start or end of a block differ"),
    # both added declarations at the end of an #ifdef; main's ended without the blank line
    # before #endif, the branch's with it: the blanks come with the block that ends the merge
    ("git+git", "b97b360c514a", "git-compat-util.h",
     "hunk 0 by syntax tree (c): definitions added on both sides, main's first"),
])
def test_real_conflicts_settled_as_the_human_did(repository, commit, path, how):
    conflict, human = _real(repository, commit, path)
    result = resolve_file(conflict)
    assert not isinstance(result, str), result
    assert result.text == human
    assert how in result.how


@pytest.mark.parametrize("repository, commit, path, why", [
    # both sides moved two imports up; the branch also dropped one of them (its last use went)
    ("FasterXML+jackson-databind", "c905f329bc1d",
     "src/test/java/com/fasterxml/jackson/databind/testutil/failure/JacksonTestFailureExpectedInterceptor.java",
     "kept a line one side removed"),
    # main added callers of GenerateTestCustomBucketsHistogram(i int); the branch made it (i int64)
    ("prometheus+prometheus", "1e420ef37301", "tsdb/tsdbutil/histogram.go",
     "new lines use GenerateTestCustomBucketsHistogram, whose signature the other side changed"),
    # one new method, named findPrimaryCreator on main and findDefaultCreator on the branch
    ("FasterXML+jackson-databind", "41951426847c", "src/main/java/com/fasterxml/jackson/databind/AnnotationIntrospector.java",
     "both sides added nearly the same method_declaration under different names"),
    # a sorted list main rewrote (entries dropped and renamed beside the hunk) while the branch
    # inserted one: not an insertion into one list (the human kept main's list alone)
    ("git+git", "7a1d2bd0a596", "po/meson.build", "hunk 0 needs judgement"),
])
def test_real_conflicts_that_only_look_mechanical_are_left_to_the_panel(repository, commit, path, why):
    conflict, human = _real(repository, commit, path)
    result = resolve_file(conflict)
    assert isinstance(result, str) and why in result, result
