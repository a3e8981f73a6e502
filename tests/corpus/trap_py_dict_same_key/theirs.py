LIMITS = {
    "cpu": 1,
    "mem": 1024,
}
