NAMES = [
    "a"
]
