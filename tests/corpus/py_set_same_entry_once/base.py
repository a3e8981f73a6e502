FLAGS = {
    "fast",
}
