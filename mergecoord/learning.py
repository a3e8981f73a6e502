"""The learning store (filled in by the learning work)."""


def weights(central, config):
    return {}


def recall(central, files):
    return None


def lessons(central, paths):
    return []


def remember(central, entry, outcome):
    return None
