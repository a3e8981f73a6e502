NAMES = [
    "a",
    "b"
]
