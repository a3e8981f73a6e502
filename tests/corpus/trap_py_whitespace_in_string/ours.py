MSG = "hello  world"
