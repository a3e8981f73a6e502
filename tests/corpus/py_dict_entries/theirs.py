DEFAULTS = {
    "timeout": 30,
    "verbose": False,
}
