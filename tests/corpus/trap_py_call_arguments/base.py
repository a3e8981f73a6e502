result = connect(
    host,
)
