result = connect(
    host,
    timeout,
)
