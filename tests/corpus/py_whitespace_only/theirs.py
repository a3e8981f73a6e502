total = add( a, b )
