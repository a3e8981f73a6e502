LIMITS = {
    "cpu": 1,
    "mem": 512,
}
