if ready:
    start()
stop()
