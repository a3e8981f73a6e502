FLAGS = {
    "fast",
    "safe",
    "lazy",
}
