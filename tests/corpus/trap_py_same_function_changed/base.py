def search(q):
    results = scan(q)
    return results
