FLAGS = {
    "fast",
    "safe",
    "cached",
}
