INSTALLED = [
    "core",
    "billing",
]
