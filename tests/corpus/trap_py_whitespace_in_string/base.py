MSG = "helloworld"
