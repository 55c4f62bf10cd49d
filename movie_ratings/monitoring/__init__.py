"""Watching the running system: drift of the films being predicted from the training rows."""
