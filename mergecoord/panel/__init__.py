"""The conflict panel: conflicts as plain data, resolvers behind one interface, and the
consensus engine that turns their proposals into a resolution or an escalation.

Nothing in this package reads config files, touches the repository or prints; the runner
does the I/O and hands plain data in.
"""
