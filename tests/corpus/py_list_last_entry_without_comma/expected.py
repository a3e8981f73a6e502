NAMES = [
    "a",
    "b",
    "c"
]
