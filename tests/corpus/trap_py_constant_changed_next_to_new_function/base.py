LIMIT = 10


def a():
    return LIMIT
