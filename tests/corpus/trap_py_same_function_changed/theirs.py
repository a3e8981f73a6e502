def search(q):
    results = batch_scan(q)
    return compress(results)
