"""The web page's helpers: settings, model loading, upload checks, result views and example clips.

`app.py` is the page itself (layout and launch); these modules hold what it calls, each one thing, so that it can be
tested without starting a server. Nothing here imports `training/`: the Space ships `app.py`, `webapp/` and
`modeling/` only.
"""
