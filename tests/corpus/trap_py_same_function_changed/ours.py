def search(q):
    results = parallel_scan(q)
    return cache(results)
