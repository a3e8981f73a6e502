LIMIT = 20


def a():
    return LIMIT
