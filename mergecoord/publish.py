"""The state ref refs/mergecoord/state (filled in by the decisions work)."""


def publish(central, config):
    return None
