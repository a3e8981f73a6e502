def search(q):
    return []


def search_parallel(q, workers=4):
    return []
