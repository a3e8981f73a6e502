PORTS = [
    8081,
]
