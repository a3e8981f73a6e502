class VectorStorage:
    def __init__(self):
        self.items = []

    def search(self, q):
        return [i for i in self.items if q in i]
