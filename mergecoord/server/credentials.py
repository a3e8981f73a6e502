"""The runner's secrets: the values never to be written anywhere (the keys the config
names with `api_key_env`, and every environment variable whose name says KEY, TOKEN,
SECRET or PASSWORD), and text with them taken out.

The values are registered once with `state.files.never_write`, which every state write
checks; `redact` is for what goes to the runner's output and logs.
"""

import re

from ..state.files import scrub

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.I)


def secret_values(config, environ):
    """The secret values in `environ`, longest first (a short one is not worth hiding:
    it would blank out ordinary words)."""
    names = {p.get("api_key_env") for p in config.panel if isinstance(p, dict)}
    values = {environ.get(n) for n in names if n}
    values |= {v for k, v in environ.items() if SECRET_NAME.search(k)}
    return sorted((v for v in values if v and len(v) >= 8), key=len, reverse=True)


def redact(text):
    """`text` without the secrets registered with never_write(); a byte that is not UTF-8
    (from a git path) comes out as a visible ``\\xNN``."""
    return scrub(text.encode("utf-8", "surrogateescape")).decode("utf-8", "backslashreplace")
