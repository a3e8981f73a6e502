POINT = (
    1,
    3,
)
