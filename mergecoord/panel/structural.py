"""Strategy: merge a file by its syntax tree (tree-sitter) when both sides changed different
parts of it, or added independent members where order does not matter. Pure.

The three versions are parsed with one grammar. Every node is read as a sequence of *items*
(its named children; comments, blanks and punctuation before an item travel with it, a
separating comma is set apart) and the three sequences are merged like a line merge, item by
item: an item is identified by its *signature* (the field it fills in its parent, else its
kind and the name it defines — function, class, method, key, import, test case — else its
text), each side's changes are read off an alignment with the base, and:

- changes of the two sides to different items are both applied (`disjoint`);
- both sides changing one item differently is merged inside that item, recursively; at a
  leaf it is a conflict;
- both sides inserting at the very same place is a conflict, except where order does not
  matter: entries of a list-like literal (arrays, objects, dicts, initializers, import
  lists) and named definitions, imports and test cases in a scope (a module, a class body,
  an impl block...) — then both are kept, main's first (`entries` / `definitions`);
- both sides inserting at one place where one side's insertions are the other's and more
  (in the same order) is that side's (`superset`);
- two definitions inserted at one place that differ only in their names are one addition
  the sides named differently: a conflict;
- the text before a node's first item or after its last changed by one side next to the
  other side's change of that item is a conflict, unless the three versions of it differ
  only in blank lines and spaces in a language where those are never meaning (C-like
  languages and Ruby; not Python or YAML): then the blanks of the side that changed them
  while keeping the item at that end, else those of the side whose item ends the merge
  (`layout`);
- anything else — a deletion against an edit, two values for one key, a move — is a
  conflict, and the whole file is left to the panel.

Never guesses: a result is returned only when it parses with the same grammar, has no
syntax error neither side had, and every definition of both sides is in it exactly as often
as the merge of the two sides says (a name defined twice that neither side defined twice is
a refusal). The three versions merged may be git's merge with each hunk at one side
(`originals` are then the real sides): what each side really did is checked on those — no
line lost, none one side removed kept, no new line using a name the other side removed or a
function whose signature it changed.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Optional, Sequence

from .grammars import grammar_name, parser_for
from .insertions import _is_subsequence

_LOCK = threading.Lock()      # a tree-sitter parser is not to be shared by two threads at once

_COMMENTS = {"comment", "line_comment", "block_comment", "doc_comment"}
_LIST_LIKE = ("initializer_list", "array", "object", "dictionary", "import_spec_list", "literal_value", "hash",
              "table", "block_mapping", "block_sequence", "flow_mapping", "flow_sequence", "named_imports",
              "export_clause", "use_list", "import_from_statement")
_LIST_TYPES = {"list", "set"}         # Python's literals (a substring would match too much)
_NOT_LIST_LIKE = ("argument", "parameter", "statement_list", "type_list", "expression_list",
                  "pattern_list", "tuple", "enumerator_list", "list_splat", "array_type")
_SCOPE_TYPES = {"module", "program", "source_file", "translation_unit", "compilation_unit", "document",
                "class_body", "declaration_list", "interface_body", "body_statement", "class", "module_body",
                "namespace_body", "impl_item", "trait_item", "object_type", "enum_body", "stream",
                "field_declaration_list", "preproc_ifdef", "preproc_if", "preproc_else", "linkage_specification",
                "template_declaration"}
_CLASS_LIKE = ("class", "module", "impl", "trait", "interface", "struct", "namespace", "object", "record")
_IMPORTS = ("import", "use_declaration", "preproc_include", "using_directive", "extern_crate",
            "package_clause")
_TEST_CALLS = frozenset(name.encode() for name in (
    "test_expect_success", "test_expect_failure", "test_lazy_prereq", "it", "describe", "test",
    "context", "specify", "scenario", "feature", "before", "after"))


# Languages where blank lines and spaces between tokens never change meaning (not Python or
# YAML, where indentation is syntax).
_FREE_LAYOUT = {"c", "cpp", "c_sharp", "java", "javascript", "typescript", "tsx", "go", "rust", "ruby"}

_LEAVES = {"string", "string_literal", "template_string", "raw_string", "number", "integer", "float",
           "binary_expression", "unary_expression", "parenthesized_expression", "comparison_operator",
           "boolean_operator", "member_expression", "field_expression", "selector_expression",
           "subscript_expression", "index_expression", "attribute", "concatenation", "interpreted_string_literal"}


class Refusal(Exception):
    """The merge is not mechanical; the message says why."""


@dataclass
class Merged:
    text: str
    rules: Counter = field(default_factory=Counter)
    # (side 1 = ours / 2 = theirs, first line, last line, rule): where each rule applied
    events: list = field(default_factory=list)


@dataclass(frozen=True)
class Item:
    sig: tuple
    named: bool            # a definition, import or test case: it commutes with its kind in a scope
    node: object
    lead: bytes            # blanks, comments and punctuation before the item
    core: bytes
    sep: bytes             # its separating comma, if any
    trail: bytes           # a comment on the same line after it

    @property
    def body(self) -> tuple:       # what two versions of an item are compared on
        return (self.lead, self.core, self.trail)


def merge_structure(path: str, base: str, ours: str, theirs: str, originals: Optional[Sequence[str]] = None) -> Merged:
    """The merged file, or Refusal. Only for paths `grammars.parser_for` knows."""
    parser = parser_for(path)
    if parser is None:
        raise Refusal("no grammar for this file")
    texts = [t.encode("utf-8") for t in (base, ours, theirs)]
    trees = [_parse(parser, t) for t in texts]
    merger = _Merger(grammar_name(path) or "", texts)
    roots = [tree.root_node for tree in trees]
    merged = merger.node(roots, whole=True)
    text = merged.decode("utf-8")
    with _LOCK:
        result = parser.parse(merged)
    _check(merger, trees, result, texts, merged)
    if originals is None:
        raw, raw_trees = texts, trees
    else:
        raw = [t.encode("utf-8") for t in originals]
        raw_trees = [_parse(parser, t) for t in raw]
    # What the sides did outside git's conflicts counts too: a line one side removed, a
    # name it renamed, a function whose parameters it changed.
    check_lines(raw, merged)
    _check_vanished(raw)
    _check_signatures(merger, [tree.root_node for tree in raw_trees], raw)
    events = [(side, texts[side].count(b"\n", 0, start), texts[side].count(b"\n", 0, end), rule)
              for side, start, end, rule in merger.events]
    return Merged(text, merger.rules, events)


_PARSED: "OrderedDict[tuple, object]" = OrderedDict()


def _parse(parser, text: bytes):
    """The tree of `text`; the last few are kept, since the whole-file merge that may follow
    the merge of git's conflicts parses the same three sides again."""
    key = (id(parser), text)
    with _LOCK:
        tree = _PARSED.get(key)
        if tree is None:
            tree = _PARSED[key] = parser.parse(text)
            while len(_PARSED) > 6:
                _PARSED.popitem(last=False)
        return tree


class _Merger:
    def __init__(self, grammar: str, texts: list[bytes]):
        self.grammar = grammar
        self.texts = texts
        self.rules: Counter = Counter()
        self.events: list = []

    def note(self, rule: str, side: int, items) -> None:
        self.rules[rule] += 1
        if items:
            self.events.append((side, items[0].node.start_byte, items[-1].node.end_byte, rule))

    # -- one node, three versions -------------------------------------------------------
    def node(self, nodes, whole: bool = False) -> bytes:
        b, o, t = nodes
        if not whole and not (b.type == o.type == t.type):
            raise Refusal(f"both sides changed one {b.type} into different things")
        seqs = [self.items(n, i, whole) for i, n in enumerate(nodes)]
        heads = [s[0] for s in seqs]
        tails = [s[2] for s in seqs]
        items = [s[1] for s in seqs]
        if not items[0] and not items[1] and not items[2]:
            raise Refusal(f"both sides changed the same {b.type}")
        ends = []
        for sides, at in ((heads, 0), (tails, -1)):
            try:
                ends.append(_end(sides, items, at, f"the {'start' if at == 0 else 'end'} of a {b.type}"))
            except Refusal:
                if not self._layout_only(sides):
                    raise
                ends.append(None)       # layout only: read once the items are merged
        merged = self.sequence(b, items)
        head, tail = (self._layout(sides, items, merged, at) if end is None else end
                      for end, sides, at in ((ends[0], heads, 0), (ends[1], tails, -1)))
        return head + _render(merged, items) + tail

    def _layout(self, ends, items, merged, at) -> bytes:
        """Blank lines or spaces before a node's first item (at=0) or after its last (-1),
        where the three versions differ in nothing else. A side that kept the base's item
        at that end and changed the blanks there meant to (main's, when both did,
        differently). A side that put a new item there brought its blanks along with it: the
        end is then the one of the side whose item ends the merge."""
        meant = {ends[i] for i in (1, 2) if ends[i] != ends[0] and items[0] and not _end_changed(items[0], items[i], at)}
        if meant:
            end = ends[1] if len(meant) > 1 else meant.pop()
        elif not merged or (items[0] and merged[at].sig == items[0][at].sig):
            end = ends[0]
        else:
            owners = [i for i in (1, 2) if items[i] and items[i][at].sig == merged[at].sig]
            end = ends[owners[0]] if owners else ends[0]
        for side in (1, 2):
            if ends[side] == end != ends[0] and items[side]:
                self.note("layout", side, [items[side][at]])
                break
        else:
            self.note("layout", 1, [])
        return end

    def _layout_only(self, ends) -> bool:
        """Whether three versions of the text around a node's items differ, and only in
        whitespace, in a language where whitespace between tokens is never meaning."""
        if self.grammar not in _FREE_LAYOUT or ends[0] == ends[1] == ends[2]:
            return False
        return len({b"".join(end.split()) for end in ends}) == 1

    def items(self, node, side: int, whole: bool):
        """(head, items, tail) of one version of a node."""
        text = self.texts[side]
        start, end = (0, len(text)) if whole else (node.start_byte, node.end_byte)
        children = list(node.children)
        named = [i for i, c in enumerate(children) if c.is_named and c.type not in _COMMENTS]
        if not named:
            return text[start:end], [], b""
        # The head runs to the last bare token (an opening brace, a keyword) before the first item.
        head_end = start
        for c in children[:named[0]]:
            if not c.is_named:
                head_end = c.end_byte
        items, cursor = [], head_end
        counts: Counter = Counter()
        fields = [node.field_name_for_child(i) for i in range(len(children))]
        for k, i in enumerate(named):
            child = children[i]
            limit = children[named[k + 1]].start_byte if k + 1 < len(named) else end
            sep_end = trail_end = child.end_byte
            j = i + 1
            if j < len(children) and children[j].type == "," and not children[j].is_named:
                sep_end = trail_end = children[j].end_byte
                j += 1
            if (j < len(children) and children[j].type in _COMMENTS and children[j].start_byte < limit
                    and children[j].start_point[0] == child.end_point[0]):
                trail_end = children[j].end_byte
            sig, is_named = self.signature(node, child, fields[i], text)
            counts[sig] += 1
            items.append(Item(sig + (counts[sig],), is_named, child, text[cursor:child.start_byte],
                              text[child.start_byte:child.end_byte], text[child.end_byte:sep_end],
                              text[sep_end:trail_end]))
            cursor = trail_end
        return text[start:head_end], items, text[cursor:end]

    def signature(self, parent, child, field_name, text) -> tuple[tuple, bool]:
        if field_name:
            return ("field", field_name), False
        kind = child.type
        if any(k in kind for k in _IMPORTS) or self._is_require(child, text):
            return ("import", _squash(text[child.start_byte:child.end_byte])), True
        test = _test_name(child, text)
        if test is not None:
            return ("test", test), True
        name = _defined_name(child, text)
        if name is not None:
            return (kind, name), True
        return ("text", kind, _squash(text[child.start_byte:child.end_byte])), False

    def _is_require(self, node, text) -> bool:
        if self.grammar != "ruby" or node.type != "call":
            return False
        method = node.child_by_field_name("method")
        return method is not None and text[method.start_byte:method.end_byte] in (b"require", b"require_relative")

    # -- a sequence of items, three versions -----------------------------------------------
    def sequence(self, parent, seqs) -> list[Item]:
        base, ours, theirs = seqs
        edits_o, kept_o = _changes(base, ours)
        edits_t, kept_t = _changes(base, theirs)
        for edits, kept in ((edits_o, kept_t), (edits_t, kept_o)):
            for b1, b2, _ in edits:
                for k in range(b1, b2):
                    if kept[k].body != base[k].body:
                        raise Refusal(f"one side removed {_describe(base[k])}, the other changed it")
        _apart(base, (edits_o, kept_o), (edits_t, kept_t))
        # Two parts of one construct (a method's return type and its body, a condition and
        # its branch) changed by the two sides: one change to its meaning, a judgement.
        parts = [{base[k].sig for k in range(len(base)) if base[k].sig[0] == "field" and kept[k].body != base[k].body}
                 for kept in (kept_o, kept_t)]
        if parts[0] and parts[1] and parts[0] != parts[1]:
            raise Refusal(f"both sides changed one {parent.type}, in different parts")
        inserts: dict[int, list[Item]] = {}
        replaces: dict[int, tuple[int, list[Item]]] = {}
        for group in _groups(edits_o, edits_t):
            if len(group) == 1:
                side, (b1, b2, items) = group[0]
                self.note("disjoint", side + 1, items)
            elif len(group) == 2 and group[0][1][:2] == group[1][1][:2]:
                (_, (b1, b2, o_items)), (_, (_, _, t_items)) = sorted(group, key=lambda g: g[0])
                if [(i.sig, i.body) for i in o_items] == [(i.sig, i.body) for i in t_items]:
                    items = o_items
                    self.note("same", 1, items)
                elif b1 == b2:
                    neighbours = (base[b1 - 1] if b1 else None, base[b1] if b1 < len(base) else None)
                    items = self._both(parent, o_items, t_items, neighbours)
                else:
                    raise Refusal(f"both sides changed the same place in a {parent.type}")
            else:
                raise Refusal(f"both sides changed the same place in a {parent.type}")
            if b1 == b2:
                inserts.setdefault(b1, []).extend(items)
            else:
                replaces[b1] = (b2, items)
        out: list[Item] = []
        k = 0
        while k <= len(base):
            out.extend(inserts.get(k, ()))
            if k == len(base):
                break
            if k in replaces:
                stop, items = replaces[k]
                out.extend(items)
                k = stop
                continue
            out.append(self._merge_item(base[k], kept_o[k], kept_t[k]))
            k += 1
        sigs = [i.sig for i in out]
        if len(sigs) != len(set(sigs)):
            raise Refusal(f"an item of a {parent.type} would appear twice")
        return out

    def _merge_item(self, b: Item, o: Item, t: Item) -> Item:
        if o.body == t.body or t.body == b.body:
            return o
        if o.body == b.body:
            return t
        if b"\n" not in b.core.strip():
            raise Refusal(f"both sides changed {_describe(b)}")     # one line, two edits: judgement
        lead = three_way(b.lead, o.lead, t.lead, what=f"the text before {_describe(b)}")
        trail = three_way(b.trail, o.trail, t.trail, what=f"the comment after {_describe(b)}")
        core = self.node([b.node, o.node, t.node])
        return _with(o, lead=lead, core=core, trail=trail)

    def _both(self, parent, ours: list[Item], theirs: list[Item], neighbours) -> list[Item]:
        """Both sides inserted at one place: keep both where order does not matter."""
        mine, yours = ([(i.sig, i.body) for i in side] for side in (ours, theirs))
        for small, big, items, side in ((mine, yours, theirs, 2), (yours, mine, ours, 1)):
            if len(small) < len(big) and _is_subsequence(small, big):
                # One side added what the other did, and more, in its own order: that side.
                self.note("superset", side, items)
                return items
        if not self._commutes(parent, ours + theirs):
            raise Refusal(f"both sides changed the same place in a {parent.type}")
        _no_twins(ours, theirs)
        have = {i.sig: i for i in ours}
        added = []
        for item in theirs:
            if item.sig in have:
                if have[item.sig].body != item.body:
                    raise Refusal(f"both sides added {_describe(item)} differently")
                continue
            added.append(item)
        if added and ours and not added[0].lead.strip() and not ours[0].lead.strip():
            lead = ours[0].lead                               # spaced the way main spaced its own
            if lead.count(b"\n") > 1 and all(_one_line_statement(i) for i in ours + added):
                lead = lead[lead.rindex(b"\n"):]      # one-line statements: no blank line between
            added[0] = _with(added[0], lead=lead)
        self.note("definitions" if _scope(parent) and not _list_like(parent) else "entries", 1, ours)
        self.note("definitions" if _scope(parent) and not _list_like(parent) else "entries", 2, added)
        return _keep_sorted(ours, added, neighbours, _list_like(parent))

    def _commutes(self, parent, items: list[Item]) -> bool:
        kind = parent.type
        if any(k in kind for k in _NOT_LIST_LIKE):
            return False
        if _list_like(parent):
            return not (self.grammar in ("c", "cpp") and kind == "field_declaration_list")
        if _scope(parent):
            if self.grammar in ("c", "cpp") and kind == "field_declaration_list":
                # Data members: order is layout. Member functions (a C++ class's method
                # declarations and definitions) may go in any order.
                return all(i.named and _is_method(i.node) for i in items)
            return all(i.named for i in items)
        return False


def _no_twins(ours: list[Item], theirs: list[Item]) -> None:
    """Two definitions, one from each side, that are the same but for their names: one
    addition that the two sides named differently (a judgement), not two."""
    for mine in ours:
        for yours in theirs:
            if not (mine.named and yours.named and mine.node.type == yours.node.type and mine.sig != yours.sig
                    and b"\n" in mine.core.strip()):
                continue
            cores = [item.core.replace(item.sig[1].split(b" (")[0], b"") for item in (mine, yours)]
            matcher = difflib.SequenceMatcher(None, *cores, autojunk=False)
            if matcher.quick_ratio() >= 0.9 and matcher.ratio() >= 0.9:
                raise Refusal(f"both sides added nearly the same {mine.node.type} under different names")


def _one_line_statement(item: Item) -> bool:
    """A declaration or statement of one line (not a function, method or class, which are
    spaced apart however short)."""
    return b"\n" not in item.core.strip() and not any(k in item.node.type for k in _SPACED)


_SPACED = ("function", "method", "class", "def", "constructor", "struct", "impl", "module", "interface")


def _is_method(node) -> bool:
    """A C++ member function: a definition, or a declaration whose declarator is a function."""
    if node.type == "template_declaration" and node.named_child_count:
        node = node.named_children[-1]
    if node.type == "function_definition":
        return True
    if node.type not in ("field_declaration", "declaration"):
        return False
    declarator = node.child_by_field_name("declarator")
    while declarator is not None and declarator.type in ("pointer_declarator", "reference_declarator"):
        declarator = declarator.child_by_field_name("declarator")
    return declarator is not None and declarator.type == "function_declarator"


def _end(ends, items, at: int, what: str) -> bytes:
    """The text before a node's first item (at=0) or after its last (-1), merged."""
    end = three_way(*ends, what=what)
    # The text before the first item and after the last (a trailing comment block, a closing
    # brace) changed by one side next to the other side's change of that item: one change
    # to git, a judgement to us.
    changed = [i for i in (1, 2) if ends[i] != ends[0]]
    if len(changed) == 1 and items[0] and _end_changed(items[0], items[3 - changed[0]], at):
        raise Refusal(f"both sides changed {what}")
    return end


def _end_changed(base: list[Item], side: list[Item], at: int) -> bool:
    """Whether `side` changed the first (at=0) or last (at=-1) item of `base`."""
    if not side:
        return True
    return side[at].sig != base[at].sig or side[at].body != base[at].body


def _keep_sorted(ours: list[Item], added: list[Item], neighbours, list_like: bool) -> list[Item]:
    """Main's entries, then the branch's; in sorted order instead where the two sides'
    imports or entries, and the lines around them, are in sorted order (a sorted include
    list stays sorted)."""
    union = ours + added
    sortable = lambda i: i is not None and (list_like or i.sig[0] == "import")
    if not added or not all(sortable(i) and not i.lead.strip() for i in union):
        return union      # comments travel with their lines: no reordering under them
    cores = [i.core for i in union]
    before, after = neighbours
    if not (_is_sorted([i.core for i in ours]) and _is_sorted([i.core for i in added])):
        return union
    if (before is not None and (not sortable(before) or before.core > min(cores))) or \
            (after is not None and (not sortable(after) or after.core < max(cores))):
        return union
    ordered = sorted(union, key=lambda i: i.core)
    return [_with(item, lead=slot.lead) for slot, item in zip(union, ordered)]


def _is_sorted(values) -> bool:
    return list(values) == sorted(values)


def _with(item: Item, **changes) -> Item:
    fields = dict(item.__dict__)
    fields.update(changes)
    return Item(**fields)


def _list_like(node) -> bool:
    kind = node.type
    return (kind in _LIST_TYPES or any(k in kind for k in _LIST_LIKE)) and not any(k in kind for k in _NOT_LIST_LIKE)


def _scope(node) -> bool:
    if node.type in _SCOPE_TYPES:
        return True
    parent = node.parent
    return (node.type in ("block", "body", "suite") and parent is not None
            and any(k in parent.type for k in _CLASS_LIKE))


def _squash(data: bytes) -> bytes:
    return b" ".join(data.split())


def _describe(item: Item) -> str:
    return f"{item.sig[0]} {item.sig[1]!r}" if item.named else f"a {item.node.type}"


def _defined_name(node, text) -> Optional[bytes]:
    """The name a definition or a key defines, with what tells overloads apart."""
    kind = node.type
    if kind in ("expression_statement",) and node.named_child_count == 1:
        return None
    if kind in ("struct_specifier", "union_specifier", "enum_specifier", "class_specifier") and \
            node.child_by_field_name("body") is None:
        return None        # `struct strbuf *sb`: a use of the type, not its definition
    for field_name in ("name", "key", "tag"):
        child = node.child_by_field_name(field_name)
        if child is not None:
            name = _squash(text[child.start_byte:child.end_byte])
            extra = node.child_by_field_name("parameters") or node.child_by_field_name("receiver")
            if extra is not None and kind not in ("class_declaration",):
                name += b" " + _squash(text[extra.start_byte:extra.end_byte])
            return name
    if kind in ("decorated_definition", "export_statement", "template_declaration"):
        inner = node.child_by_field_name("definition") or node.child_by_field_name("declaration")
        if inner is None and node.named_child_count:
            inner = node.named_children[-1]
        return None if inner is None else _defined_name(inner, text)
    if kind == "impl_item":
        parts = [node.child_by_field_name(f) for f in ("trait", "type")]
        return b" for ".join(_squash(text[p.start_byte:p.end_byte]) for p in parts if p is not None)
    if kind in ("function_definition", "declaration", "field_declaration", "lexical_declaration",
                "variable_declaration", "type_declaration", "const_declaration", "var_declaration",
                "type_definition", "struct_specifier", "function_declaration", "pair", "block_mapping_pair"):
        found = _declarator_name(node, text)
        if found is not None:
            return found
    return None


def _declarator_name(node, text, depth=0) -> Optional[bytes]:
    if depth > 8:
        return None
    if node.type in ("identifier", "field_identifier", "type_identifier", "property_identifier",
                     "destructor_name", "qualified_identifier", "operator_name"):
        return _squash(text[node.start_byte:node.end_byte])
    for field_name in ("declarator", "name", "key"):
        child = node.child_by_field_name(field_name)
        if child is not None:
            found = _declarator_name(child, text, depth + 1)
            if found is not None:
                params = child.child_by_field_name("parameters") if child.type == "function_declarator" else None
                return found + (b" " + _squash(text[params.start_byte:params.end_byte]) if params else b"")
    for child in node.named_children:
        if child.type in ("variable_declarator", "init_declarator", "type_spec", "const_spec", "var_spec",
                          "function_declarator", "pointer_declarator", "type_alias"):
            return _declarator_name(child, text, depth + 1)
    return None


def _test_name(node, text) -> Optional[bytes]:
    """A test case (`it "..."`, `test_expect_success '...'`) is a definition named by its title."""
    call = node
    if call.type == "expression_statement" and call.named_child_count == 1:
        call = call.named_children[0]
    if call.type in ("call_expression", "call", "command"):
        function = (call.child_by_field_name("function") or call.child_by_field_name("method")
                    or call.child_by_field_name("name"))
        if function is None:
            return None
        callee = _squash(text[function.start_byte:function.end_byte])
        if callee not in _TEST_CALLS:
            return None
        args = call.child_by_field_name("arguments")
        first = None
        if args is not None and args.named_child_count:
            first = args.named_children[0]
        elif call.type == "command":
            found = [c for c in call.named_children if c.type in ("string", "raw_string", "word")]
            first = found[0] if found else None
        if first is not None and first.type in ("string", "raw_string", "string_literal", "template_string"):
            return callee + b" " + text[first.start_byte:first.end_byte]
    return None


def three_way(b, o, t, what: str):
    """The one side that changed `what`, or both's one change; Refusal when they differ."""
    if o == t or t == b:
        return o
    if o == b:
        return t
    raise Refusal(f"both sides changed {what}")


def _changes(base: list[Item], side: list[Item]):
    """A side's edits as (base start, base stop, new items), and for every base item the
    side's version of it (the base item itself where the side removed it), read off an
    alignment by signature."""
    matcher = difflib.SequenceMatcher(None, [i.sig for i in base], [i.sig for i in side], autojunk=False)
    edits, kept = [], list(base)
    for op, b1, b2, s1, s2 in matcher.get_opcodes():
        if op == "equal" or (op == "replace" and b2 - b1 == s2 - s1 and all(
                not b.named and not s.named and b.node.type == s.node.type
                for b, s in zip(base[b1:b2], side[s1:s2]))):
            # the same items, or unnamed ones edited in place: the same places, changed
            kept[b1:b2] = side[s1:s2]
        else:
            edits.append((b1, b2, side[s1:s2]))
    return edits, kept


def _apart(base, ours, theirs) -> None:
    """An item that is not a whole definition (a statement, a value, a one-line key) changed
    by one side right next to a change of the other side is one change to git, and often to
    the author (a pinned version and its neighbour, a line and its comment): a conflict."""
    changed = []
    for edits, kept in (ours, theirs):
        spots = {k for k in range(len(base)) if kept[k].body != base[k].body}
        near = set(spots)
        for b1, b2, _ in edits:
            near.update(range(b1 - 1, b2 + 1))
        changed.append((spots, near))
    for (spots, _), (other, near) in ((changed[0], changed[1]), (changed[1], changed[0])):
        for k in spots:
            if base[k].named and b"\n" in base[k].core.strip():
                continue
            if (k - 1 in near or k + 1 in near) and k not in other:
                raise Refusal(f"both sides changed {_describe(base[k])} and what is next to it")


def _groups(edits_o, edits_t):
    """The edits of both sides in base order, those that touch each other grouped: an edit
    alone in its group is applied as it is; a group with both sides in it is a conflict
    unless the two made one change or only inserted, at one place."""
    tagged = sorted([(0, e) for e in edits_o] + [(1, e) for e in edits_t], key=lambda x: (x[1][0], x[1][1]))
    groups: list[list] = []
    for side, edit in tagged:
        if groups and any(s != side and _overlap(e, edit) for s, e in groups[-1]):
            groups[-1].append((side, edit))
        else:
            groups.append([(side, edit)])
    return groups


def _overlap(a, b) -> bool:
    (a1, a2, a_items), (b1, b2, b_items) = a, b
    if max(a1, b1) < min(a2, b2):
        return True
    if a1 == a2 and b1 == b2:
        return a1 == b1
    if a2 == b1 or b2 == a1:
        # Edits side by side are one change to git. Apart only when both are whole
        # definitions of several lines; a removal, or a line next to a line (an import, a
        # key, a statement), may belong with its neighbour.
        return not (a_items and b_items and all(i.named and b"\n" in i.core.strip() for i in a_items + b_items))
    if a1 == a2:
        return b1 < a1 < b2
    if b1 == b2:
        return a1 < b1 < a2
    return False


def _render(merged: list[Item], seqs) -> bytes:
    uses_comma = any(i.sep for seq in seqs for i in seq)
    if not uses_comma:
        return b"".join(i.lead + i.core + i.sep + i.trail for i in merged)
    ours = seqs[1] or seqs[2]
    trailing = bool(ours and ours[-1].sep)
    out = []
    for n, item in enumerate(merged):
        last = n == len(merged) - 1
        sep = (item.sep or b",") if not last or trailing else b""
        out.append(item.lead + item.core + sep + item.trail)
    return b"".join(out)


# -- validation of a merged tree ------------------------------------------------------------

def _check(merger: _Merger, trees, result, texts: list[bytes], merged: bytes) -> None:
    """Refuse a merge that the two sides do not vouch for, item by item."""
    errors = [_errors(tree.root_node, text) for tree, text in zip(trees, texts)]
    if _errors(result.root_node, merged) - (errors[1] | errors[2]):
        raise Refusal("the merged file has a syntax error neither side had")
    counts = [_definitions(merger, tree.root_node, text) for tree, text in zip(trees, texts)]
    got = _definitions(merger, result.root_node, merged)
    b, o, t = counts
    for key in set(b) | set(o) | set(t) | set(got):
        want = o[key] if o[key] == t[key] or t[key] == b[key] else t[key] if o[key] == b[key] else None
        if want is None or got[key] != want:
            raise Refusal(f"{key[-1].decode(errors='replace')} would be defined {got[key]} times")
    # A name the result defines more often than either side, in whatever scope: a test or a
    # function that arrived twice by two routes. It also counts the type names of
    # expressions and parameters (`T` of `*testing.T`), which refuses both sides adding Go
    # tests; counting declarations only was tried and settled prometheus 6979b237b95a
    # promql/engine_test.go, where the person merging adapted the branch's new test to main's
    # change of range bounds: no tree shows that, so the stricter count stays.
    flat = [Counter() for _ in range(4)]
    for counter, source in zip(flat, counts + [got]):
        for key, n in source.items():
            if "parameter" not in key[-2]:
                counter[(key[-2], key[-1].split(b" (")[0])] += n      # without its parameters: overloads, T and *T
    for key, n in flat[3].items():
        if n > 1 and n > max(flat[1][key], flat[2][key]):
            raise Refusal(f"{key[-1].decode(errors='replace')} would be defined {n} times")
    bound = [_bindings(merger, tree.root_node, text) for tree, text in zip(trees, texts)]
    for name, sources in _bindings(merger, result.root_node, merged).items():
        if len(sources) > 1 and len(sources) > max(len(bound[1].get(name, ())), len(bound[2].get(name, ()))):
            raise Refusal(f"two imports would bind {name.decode(errors='replace')}")


def _check_signatures(merger: _Merger, roots, texts: Sequence[bytes]) -> None:
    """New lines of one side that use a definition whose signature (its parameters, its
    receiver) the other side changed or removed: they were written against the old one."""
    signatures = []
    for root, text in zip(roots, texts):
        found: dict[bytes, set] = {}
        for key in _definitions(merger, root, text):
            name = key[-1]
            if b" (" in name:
                found.setdefault(name.split(b" (")[0], set()).add(key[-2:])
        signatures.append(found)
    base_lines = _lines(texts[0])
    for side, other in ((1, 2), (2, 1)):
        changed = {name for name, keys in signatures[0].items() if keys - signatures[other].get(name, set())}
        if not changed:
            continue
        for line in _lines(texts[side]) - base_lines:
            for word in _names(line):
                if word in changed:
                    raise Refusal(f"new lines use {word.decode(errors='replace')}, whose signature the other side changed")


def _check_vanished(texts: Sequence[bytes]) -> None:
    """New lines of one side that use a name the other side removed everywhere (renamed a
    package, a function, a variable): they would not compile against the other side."""
    words = [_names(text) for text in texts]
    base_lines = _lines(texts[0])
    for side, other in ((1, 2), (2, 1)):
        added = _lines(texts[side]) - base_lines
        for line in added:
            for word in _names(line):
                if words[0][word] and not words[other][word]:
                    raise Refusal(f"new lines use {word.decode(errors='replace')}, which the other side removed")


_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*(?:(?:\.|::)[A-Za-z_][A-Za-z0-9_]*)*")


def _names(text: bytes) -> Counter:
    """Every name in `text`, and every leading part of a dotted one ("com.example" of
    "com.example.util.Foo"): a package renamed on one side vanishes from it as a prefix."""
    found: Counter = Counter()
    for name in _WORD.findall(text):
        parts = re.split(rb"\.|::", name)
        found.update(parts)
        found.update(b".".join(parts[:n]) for n in range(2, len(parts) + 1))
    return found


def check_lines(texts: Sequence[bytes], merged: bytes, once=lambda line: False) -> None:
    """Nothing lost, nothing repeated: every line a side added is in the result, and no line
    is there more often than the two sides together have it (than either side has it, for
    the lines `once` names: an entry both sides added is one entry)."""
    b, o, t = (_lines(text) for text in texts)
    have = _lines(merged)
    for line in set(b) | set(o) | set(t) | set(have):
        added = max(o[line] - b[line], t[line] - b[line], 0)
        most = max(o[line], t[line]) if once(line) else max(o[line], t[line], o[line] + t[line] - b[line])
        if have[line] < added or have[line] > most:
            raise Refusal("the merged file lost or repeated a line of one side")
        # A line one side left alone is there as often as the other side has it: a line
        # the other removed stays removed (moved imports, one side dropping one of them).
        if (o[line] == b[line] and have[line] != t[line]) or (t[line] == b[line] and have[line] != o[line]):
            raise Refusal("the merged file kept a line one side removed, or lost one it added")


def _errors(root, text: bytes) -> Counter:
    found: Counter = Counter()
    if not root.has_error:
        return found
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            found[(node.type, _squash(text[node.start_byte:node.end_byte]))] += 1
        elif node.has_error:
            stack.extend(node.children)
    return found


def _definitions(merger: _Merger, root, text: bytes) -> Counter:
    """How often each named item (definition, key, import, test case) occurs, by its scope."""
    found: Counter = Counter()

    def walk(node, scope: tuple):
        for child in node.named_children:
            if not child.named_child_count or child.type in _COMMENTS or child.type in _LEAVES:
                continue       # a token or an expression defines nothing
            inner = scope
            sig, named = merger.signature(node, child, None, text)
            if named:
                key = scope + (sig[0], sig[-1])
                found[key] += 1
                inner = key
            if child.named_child_count:
                walk(child, inner)

    walk(root, ())
    return found


def _bindings(merger: _Merger, root, text: bytes) -> dict[bytes, set]:
    """For top-level imports, the name each binds (its last dotted or slashed part) and the
    imports that bind it: two imports of one name from different places is a clash."""
    found: dict[bytes, set] = {}
    for child in root.named_children:
        sig, named = merger.signature(root, child, None, text)
        if sig[0] != "import":
            continue
        words = [w for w in _IDENTIFIER.findall(sig[1]) if w not in _IMPORT_WORDS]
        if words:
            found.setdefault(words[-1], set()).add(sig[1])
    return found


_IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*|\*")
_IMPORT_WORDS = {b"import", b"static", b"from", b"as", b"use", b"using", b"include", b"require",
                 b"require_relative", b"package", b"extern", b"crate", b"pub", b"h", b"rb", b"js", b"ts",
                 b"self", b"super", b"type", b"namespace", b"global"}


def _lines(text: bytes) -> Counter:
    return Counter(s for s in (line.strip().rstrip(b",").rstrip() for line in text.splitlines()) if s)
