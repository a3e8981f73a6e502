result = connect(
    host,
    port,
)
