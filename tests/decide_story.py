"""The seed's escalation story, shared by the decision tests: Apollo and Athena both rewrite
VectorStorage.search(), Numa changes the API; a human answers from a clone."""

import os
import select
import subprocess
import sys
import time

from conftest import git

STORAGE = "engram/core/memory/storage/vector_storage.py"
ENDPOINTS = "engram/api/v1/endpoints.py"

BASE_STORAGE = '''"""Vector storage."""


class VectorStorage:
    def __init__(self, backend):
        self.backend = backend

    def search(self, query, limit=10):
        results = self.backend.query(query)
        return results[:limit]

    def store(self, item):
        self.backend.put(item)
'''

APOLLO_STORAGE = BASE_STORAGE.replace(
    '''        results = self.backend.query(query)
        return results[:limit]
''', '''        if query in self.cache:
            return self.cache[query][:limit]
        results = parallel_query(self.backend, query)
        self.cache[query] = results
        return results[:limit]
''').replace('''    def store(self, item):
        self.backend.put(item)
''', '''    def store(self, item):
        self.backend.put(item)


def parallel_query(backend, query):
    return backend.query(query)
''')

ATHENA_STORAGE = BASE_STORAGE.replace('''"""Vector storage."""
''', '''"""Vector storage."""

import zlib
''').replace(
    '''        results = self.backend.query(query)
        return results[:limit]
''', '''        batch = self.backend.query_batch([query])
        return [zlib.decompress(r) for r in batch[0]][:limit]
''')

BASE_ENDPOINTS = "def get(request):\n    return handle(request)\n"
NUMA_ENDPOINTS = "def get(request):\n    return stream(handle(request))\n"

EXPECTED_MAIN = BASE_STORAGE.replace('''"""Vector storage."""
''', '''"""Vector storage."""

import zlib
''').replace(
    '''        results = self.backend.query(query)
        return results[:limit]
''', '''        batch = self.backend.query_batch([query])
        return [zlib.decompress(r) for r in batch[0]][:limit]
''').replace('''    def store(self, item):
        self.backend.put(item)
''', '''    def store(self, item):
        self.backend.put(item)


def parallel_query(backend, query):
    return backend.query(query)
''')


def configure(central, extra=""):
    """Decisions for the storage file go to a human (until a panel sits in these tests)."""
    text = (central.state / "config.toml").read_text()
    text = text.replace("# always_human = []", f'always_human = ["{STORAGE}"]')
    central.set_config(text + extra)


def set_escalation(central, key, value):
    text = (central.state / "config.toml").read_text()
    central.set_config(text.replace("[escalation]\n", f"[escalation]\n{key} = {value}\n", 1))


def seed_main(make_worker):
    """The project as the three workers find it."""
    casey = make_worker("Casey")
    casey.branch("main")
    casey.commit("engram baseline", {STORAGE: BASE_STORAGE, ENDPOINTS: BASE_ENDPOINTS,
                                     "engram/api/v1/__init__.py": ""}, ready=False)
    casey.push("HEAD:main")
    return casey


def escalate(central, make_worker):
    """Apollo and Numa land, Athena conflicts with Apollo and is escalated. Returns the workers."""
    seed_main(make_worker)
    apollo, athena, numa = make_worker("Apollo"), make_worker("Athena"), make_worker("Numa")
    apollo.work("sprint/optimize-vector-search", {STORAGE: APOLLO_STORAGE},
                "Optimized vector search with parallel processing")
    athena.work("sprint/optimize-memory-storage", {STORAGE: ATHENA_STORAGE},
                "Optimized memory storage with batch operations")
    numa.work("sprint/optimize-api-performance", {ENDPOINTS: NUMA_ENDPOINTS},
              "Optimized API with streaming responses")
    central.run_once()
    return apollo, athena, numa


def tool_env(**extra):
    """The environment of a human's shell: git finds git-merge-decide on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


def merge_decide(cwd, *args, **env):
    return git("merge-decide", *args, cwd=cwd, check=False, env=tool_env(**env))


def human_clone(tmp_path, central, name="casey-review"):
    path = tmp_path / name
    git("clone", "-q", str(central.path), str(path))
    return path


def push_answer(clone, decision_id, text, **env):
    """A hand-made answer: a commit holding `text` as answer.toml, pushed with plain git."""
    blob = git("hash-object", "-w", "--stdin", cwd=clone, input=text).stdout.strip()
    tree = git("mktree", cwd=clone, input=f"100644 blob {blob}\tanswer.toml\n").stdout.strip()
    commit = git("commit-tree", tree, "-m", "answer", cwd=clone).stdout.strip()
    return git("push", "origin", f"+{commit}:refs/mergecoord/answers/{decision_id}", cwd=clone, check=False,
               env=tool_env(**env))


def mergecoord_lines(stderr):
    return [line.split("mergecoord: ", 1)[1].strip() for line in stderr.splitlines() if "mergecoord: " in line]


class Terminal:
    """A real subprocess on a pseudo-terminal: what it prints, and typing into it."""

    def __init__(self, args, cwd, env):
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave,
                                     close_fds=True, start_new_session=True)
        os.close(slave)
        self.output = ""

    def read_until(self, text, timeout=20.0):
        deadline = time.monotonic() + timeout
        while text not in self.output:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} never appeared; got:\n{self.output}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{text!r} never appeared before exit; got:\n{self.output}")
                self.output += chunk.decode("utf-8", "replace")
        return self.output

    def type(self, line):
        os.write(self.master, (line + "\n").encode())

    def finish(self, timeout=20.0):
        code = self.proc.wait(timeout)
        try:
            while True:
                chunk = os.read(self.master, 4096)
                if not chunk:
                    break
                self.output += chunk.decode("utf-8", "replace")
        except OSError:
            pass
        os.close(self.master)
        return code
