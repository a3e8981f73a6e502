NAMES = [
    "a",
    "c"
]
