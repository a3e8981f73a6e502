DEFAULTS = {
    "timeout": 30,
}
