INSTALLED = [
    "core",
]
