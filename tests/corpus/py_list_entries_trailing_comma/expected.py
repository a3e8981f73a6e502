INSTALLED = [
    "core",
    "billing",
    "search",
]
