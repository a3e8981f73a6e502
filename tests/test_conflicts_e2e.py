"""Conflicts over real pushes: the built-in panel settles what is mechanical and
escalates what is not, and nothing invalid ever reaches main."""

BASE = '''class VectorStorage:
    """Stores vectors."""

    def __init__(self):
        self.items = []

    def search(self, query):
        return [i for i in self.items if query in i]
'''

PARALLEL = BASE.replace("return [i for i in self.items if query in i]",
                        "return parallel_map(lambda i: query in i, self.items)")
BATCHED = BASE.replace("return [i for i in self.items if query in i]",
                       "return [i for batch in self.batches() for i in batch if query in i]")
WITH_CACHE = BASE + '''
    def cached_search(self, query):
        return self.cache.setdefault(query, self.search(query))
'''
WITH_BATCH = BASE + '''
    def batch_store(self, items):
        self.items.extend(items)
'''


def land_base(central, make_worker, path="engram/vector_storage.py"):
    casey = make_worker("Casey")
    casey.branch("sprint/base")
    casey.commit("VectorStorage", {path: BASE})
    casey.push()
    central.run_once()
    assert central.merge_ids() == ["m-0001"]
    return path


def test_different_methods_added_to_one_class_are_merged_by_consensus(central, make_worker):
    path = land_base(central, make_worker)
    apollo, athena = make_worker("Apollo"), make_worker("Athena")
    apollo.work("sprint/cache", {path: WITH_CACHE}, "Add cached_search")
    athena.work("sprint/batch", {path: WITH_BATCH}, "Add batch_store")
    central.run_once()

    assert central.merge_ids() == ["m-0001", "m-0002", "m-0003"]
    merged = central.show(f"main:{path}")
    assert "def cached_search" in merged and "def batch_store" in merged
    assert "<<<<<<<" not in merged
    compile(merged, path, "exec")
    trailers = central.trailers("main")
    assert trailers["Resolved-By"] == "consensus" and trailers["Merge-Id"] == "m-0003"
    assert float(trailers["Confidence"]) >= 0.85 and int(trailers["Consensus-Rounds"]) >= 1
    shown = central.mc("show", "m-0003", check=True).stdout
    assert "MERGE CONFLICT RESOLUTION - Round 1" in shown


def test_one_method_rewritten_two_ways_is_escalated_with_a_transcript(central, make_worker):
    path = land_base(central, make_worker)
    apollo, athena = make_worker("Apollo"), make_worker("Athena")
    apollo.work("sprint/parallel", {path: PARALLEL}, "Parallel search")
    athena.work("sprint/batched", {path: BATCHED}, "Batched search")
    central.run_once()

    assert central.merge_ids() == ["m-0001", "m-0002"]          # Athena's is not merged
    assert central.show(f"main:{path}") == PARALLEL
    record = central.json("show", "m-0003")
    assert record["status"] == "escalated" and record["conflicts"] == [path]
    assert "Round 1" in record["transcript"] and "below threshold" in record["transcript"]
    assert central.json("status")["counts"]["escalated"] == 1


def test_always_human_paths_skip_the_panel(central, make_worker):
    text = (central.state / "config.toml").read_text()
    central.set_config(text.replace("# always_human = []", 'always_human = ["engram/*"]'))
    path = land_base(central, make_worker)
    apollo, athena = make_worker("Apollo"), make_worker("Athena")
    apollo.work("sprint/cache", {path: WITH_CACHE}, "Add cached_search")
    athena.work("sprint/batch", {path: WITH_BATCH}, "Add batch_store")
    central.run_once()
    record = central.json("show", "m-0003")
    assert record["status"] == "escalated" and "always_human" in record["detail"]
    assert record["transcript"] == ""


def test_a_failing_verify_keeps_main_where_it_was(central, make_worker):
    text = (central.state / "config.toml").read_text()
    central.set_config(text.replace('# command = ""', 'command = "test ! -e broken.txt"'))
    worker = make_worker("Apollo")
    worker.work("sprint/good", {"good.txt": "ok\n"})
    worker.work("sprint/bad", {"broken.txt": "oops\n"})
    central.run_once()
    assert central.merge_ids() == ["m-0001"]
    bad = central.json("show", "m-0002")
    assert bad["status"] == "failed" and "verify" in bad["detail"]
    assert "[verify]" in bad["transcript"]
