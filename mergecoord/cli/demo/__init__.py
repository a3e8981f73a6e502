"""`mergecoord demo`: the seed's story replayed for real in a sandbox (`story.py`), its
files, commits and lines (`script.py`), and the scripted stand-in agents it installs
(`agents.py`)."""
