def a():
    return 10
def b(x=0):
    return 2 + x
