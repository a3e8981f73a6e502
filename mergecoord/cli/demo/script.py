"""The seed's story as data, for `mergecoord demo`: the project's first files, what each
worker changes and says in its commits, and the lines the scripted stand-in agents speak
on the panel (per branch, panelist and round). Nothing here runs anything.
"""

VECTOR = "engram/core/memory/storage/vector_storage.py"
ENDPOINTS = "engram/api/v1/endpoints.py"

WORKERS = (  # clone, name, email, branch of the first act (as in the seed)
    ("Tekton-worker1", "Apollo", "apollo@tekton.dev", "sprint/optimize-vector-search"),
    ("Tekton-worker2", "Athena", "athena@tekton.dev", "sprint/optimize-memory-storage"),
    ("Tekton-worker3", "Numa", "numa@tekton.dev", "sprint/optimize-api-performance"),
)

INITIAL = {
    VECTOR: '''"""Vector storage for Engram memories."""


class VectorStorage:
    def __init__(self, backend):
        self.backend = backend

    def search(self, query, limit=10):
        return self.backend.search(query, limit)

    def store(self, memory):
        self.backend.store(memory)
''',
    ENDPOINTS: '''"""Engram HTTP API, version 1."""


def get_memories(storage, query):
    return {"results": storage.search(query)}
''',
    "README.md": "# Engram\n\nMemory for Tekton's AI workers.\n",
}

# Act 1: both rewrote the body of VectorStorage.search(), as in the seed.
PARALLEL_SEARCH = '''        """Search every vector database in parallel; frequent queries come from a cache."""
        if query not in self.cache:
            self.cache[query] = self.pool.map(lambda db: db.search(query, limit), self.databases)
        return self.cache[query]
'''
BATCHED_SEARCH = '''        """Search in batches; stored vectors are compressed."""
        self.flush_pending_batch()
        return [decompress(hit) for hit in self.backend.search(query, limit)]
'''
UNIFIED_SEARCH = '''        """Parallel search for reads, batch processing for writes, in one method."""
        self.flush_pending_batch()
        if query not in self.cache:
            hits = self.pool.map(lambda db: db.search(query, limit), self.databases)
            self.cache[query] = [decompress(hit) for hit in hits]
        return self.cache[query]
'''
SPLIT_SEARCH = PARALLEL_SEARCH + '''
    def batch_search(self, queries, limit=10):
        """Search in batches; stored vectors are compressed."""
        self.flush_pending_batch()
        return [[decompress(hit) for hit in self.backend.search(query, limit)] for query in queries]
'''
PLAIN_SEARCH = "        return self.backend.search(query, limit)\n"
STREAMING = '''

def stream_memories(storage, query):
    """Stream results as they arrive instead of waiting for all of them."""
    for result in storage.search(query):
        yield result
'''
# Act 2: both rewrote VectorStorage.store().
PLAIN_STORE = "        self.backend.store(memory)\n"
CACHED_STORE = PLAIN_STORE + "        self.cache.clear()          # cached searches stay correct\n"
BATCHED_STORE = '''        self.pending.append(compress(memory))
        if len(self.pending) >= 64:
            self.backend.store_batch(self.pending)
            self.pending = []
'''
DISCUSSED = "sprint/optimize-memory-storage"      # the branches the panel discusses
ESCALATED = "sprint/store-batching"


def propose(text, confidence, rationale, objections=()):
    return {"vote": "propose", "hunks": {VECTOR: [text]}, "confidence": confidence, "rationale": rationale,
            "objections": list(objections)}


def endorse(label, confidence, rationale):
    return {"vote": "endorse", "candidate": label, "confidence": confidence, "rationale": rationale}


# What the scripted stand-ins say, per branch, panelist and round (the last one repeats).
SCRIPT = {
    DISCUSSED: {
        "Apollo": [endorse("A", 0.8, "Both optimizations are valuable. Parallel search improves read performance."),
                   propose(SPLIT_SEARCH, 0.9, "The unified method is three times the original. Too complex? "
                           "Split it: search() for reads, batch_search() for batches.")],
        "Athena": [propose(UNIFIED_SEARCH, 0.8, "Batch storage is critical for write performance; my compression "
                           "reduces storage by 60%. Keep both in one method.",
                           ["Method complexity increased significantly"]),
                   propose(SPLIT_SEARCH, 0.9, "The complexity was warranted by the 10x gain, and separate "
                           "methods keep all of it.")],
        "Numa": [propose(UNIFIED_SEARCH, 0.85, "Architecture perspective: we need both. Parallel search for "
                         "reads, batch processing for writes."),
                 propose(SPLIT_SEARCH, 0.95, "Yes! Separation of concerns: different methods for different "
                         "use cases.")],
    },
    ESCALATED: {
        "Apollo": [endorse("A", 0.9, "Cached searches must stay correct after every store: clear the cache.")],
        "Athena": [endorse("B", 0.9, "Batching with compression: 60% less storage, far fewer writes.")],
        "Numa": [endorse("A", 0.75, "Reads dominate Engram's traffic; correctness of the cache first.")],
    },
}
AGENTS = (  # worker, [[panel]] entry, kind, the stand-in's name: the worker's agent
    ("Apollo", "claude", "claude-code", "claude"),
    ("Athena", "codex", "codex", "codex"),
    ("Numa", "Numa", "gemini", "gemini"),
)
RATIONALE = "storage efficiency prioritized over read speed"
AGENTS_DIR = "scripted-agents"
