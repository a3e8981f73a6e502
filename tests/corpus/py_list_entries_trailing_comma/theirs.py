INSTALLED = [
    "core",
    "search",
]
