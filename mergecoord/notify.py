"""Webhook notifications (filled in by the notifications work)."""


def deliver(central, config, events):
    return 0
