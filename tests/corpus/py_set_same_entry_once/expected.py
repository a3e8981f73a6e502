FLAGS = {
    "fast",
    "safe",
    "cached",
    "lazy",
}
