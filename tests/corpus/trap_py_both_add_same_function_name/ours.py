def a():
    return 1


def helper():
    return "ours"
