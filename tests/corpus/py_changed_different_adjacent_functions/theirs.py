def a():
    return 1
def b(x=0):
    return 2 + x
