LIMITS = {
    "cpu": 1,
}
