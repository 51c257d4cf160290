"""Training side of face-fusion: command-line entry points and the helpers they share (labels, metrics, tables)."""
