POINT = (
    1,
)
