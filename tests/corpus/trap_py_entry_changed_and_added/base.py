PORTS = [
    8080,
]
