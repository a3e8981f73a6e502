setup()
x = 1
