total = add(a,b)
