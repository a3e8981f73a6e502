"""Readable records of the panel's rounds: `<state>/transcripts/<merge-id>.txt`."""

from .files import atomic_write


def save(central, merge_id, text):
    directory = central.path("transcripts")
    directory.mkdir(exist_ok=True)
    atomic_write(directory / f"{merge_id}.txt", text)


def load(central, merge_id):
    path = central.path("transcripts", f"{merge_id}.txt")
    return path.read_text() if path.exists() else ""
