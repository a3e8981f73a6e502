class VectorStorage:
    def __init__(self):
        self.items = []

    def search(self, q):
        return [i for i in self.items if q in i]

    def search_cached(self, q):
        return self.search(q)

    def store_batch(self, items):
        self.items.extend(items)
