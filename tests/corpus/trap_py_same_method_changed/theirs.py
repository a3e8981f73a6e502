class Store:
    def put(self, item):
        self.batch.append(item)
