def search(q):
    return []
