MSG = "hello world"
