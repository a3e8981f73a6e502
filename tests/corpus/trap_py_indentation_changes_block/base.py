if ready:
    start()
stop( )
