"""The package's import graph has no cycles, and each place imports only from below.

Every `import` and `from ... import` statement of every module counts, at module level
and inside functions alike (a lazy import only postpones the dependency, it does not
remove it), with relative imports resolved. A cycle fails the test with its modules
and one loop through them, so the dependency can be turned the right way round.
"""

import ast
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "mergecoord"


def modules(root):
    """{module name: (path, whether it is a package's __init__)} for every module of the package."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts.pop()
        found[".".join(parts)] = (path, package)
    return found


def imports_of(name, path, package, known):
    """The modules of the package (`known`) that module `name` imports, anywhere in it."""
    def ours(dotted):
        # "a.b.C" names module a.b (C is a name in it); stop at the longest module we know
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted

    here = name if package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            # `from pkg import mod` imports the module pkg.mod; `from mod import name`, mod itself
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            module = ours(target)
            if module and module != name:
                found.add(module)
    return found


def graph(root=ROOT):
    known = modules(root)
    return {name: imports_of(name, path, package, known) for name, (path, package) in known.items()}


def cycles(edges):
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def loop_through(edges, component):
    """One shortest loop from the component's first module back to it, inside the component."""
    start, inside = component[0], set(component)
    came_from = {}
    todo = deque([start])
    while todo:
        node = todo.popleft()
        for child in sorted(edges[node] & inside):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return list(reversed(path)) + [start]
            if child not in came_from:
                came_from[child] = node
                todo.append(child)
    return component


def test_the_import_graph_has_no_cycles():
    edges = graph()
    found = cycles(edges)
    report = [f"{len(c)} modules import each other: {', '.join(c)}\n    e.g. {' -> '.join(loop_through(edges, c))}"
              for c in found]
    assert not found, "import cycles in mergecoord/:\n  " + "\n  ".join(report)


# Where a module runs, by its package: the server (the central repository), the clone (a
# worker's), the operator's command line; the merge machinery and the panel beneath the
# server; beneath everything the foundation: the top-level modules and state/.
PLACES = (("mergecoord.server", "server"), ("mergecoord.clone", "clone"), ("mergecoord.cli", "cli"),
          ("mergecoord.panel", "panel"), ("mergecoord.merge", "merge"))
# The entry points: `python -m mergecoord`, and the aliases that hooks installed by an
# earlier mergecoord enter at.
ENTRIES = {"mergecoord.__main__", "mergecoord.hook", "mergecoord.workerhook"}
MAY_IMPORT = {
    "foundation": {"foundation"},
    "merge": {"foundation", "merge"},
    "panel": {"foundation", "merge", "panel"},
    "server": {"foundation", "merge", "panel", "server"},
    "clone": {"foundation", "clone"},             # a clone reaches the server only through git
    "cli": {"foundation", "merge", "panel", "server", "clone", "cli"},
}


def place(module):
    if module in ENTRIES:
        return "entry"
    return next((name for prefix, name in PLACES if module == prefix or module.startswith(prefix + ".")),
                "foundation")


def test_each_place_imports_only_from_below():
    edges = graph()
    wrong = [f"{module} ({place(module)}) imports {target} ({place(target)})"
             for module, targets in sorted(edges.items()) if place(module) != "entry"
             for target in sorted(targets) if place(target) not in MAY_IMPORT[place(module)]]
    assert not wrong, "imports against the layout:\n  " + "\n  ".join(wrong)
    assert {place(m) for m in edges} == set(MAY_IMPORT) | {"entry"}


def test_a_lazy_relative_import_is_an_edge_like_any_other(tmp_path):
    """The graph itself, on a package made for it: every way of importing counts."""
    files = {
        "pkg/__init__.py": "",
        "pkg/low.py": "import os\n",
        "pkg/sub/__init__.py": "from .. import low\n",
        "pkg/sub/mid.py": "def f():\n    from ..top import name\n",
        "pkg/top.py": "import pkg.sub.mid\nfrom pkg.sub import mid as m\nfrom .low import x\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    edges = graph(tmp_path / "pkg")
    assert edges == {"pkg": set(), "pkg.low": set(), "pkg.sub": {"pkg.low"}, "pkg.sub.mid": {"pkg.top"},
                     "pkg.top": {"pkg.sub.mid", "pkg.low"}}
    assert cycles(edges) == [["pkg.sub.mid", "pkg.top"]]
    assert loop_through(edges, ["pkg.sub.mid", "pkg.top"]) == ["pkg.sub.mid", "pkg.top", "pkg.sub.mid"]
