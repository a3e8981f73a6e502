total = add(a, b)
