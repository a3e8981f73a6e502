LIMIT = 5


def a():
    return LIMIT


def b():
    return LIMIT * 2
