setup()
x = 2
