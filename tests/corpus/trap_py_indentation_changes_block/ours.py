if ready:
    start()
    stop()
