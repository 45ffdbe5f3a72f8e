"""Click commands of `curate` that live in their own modules (loaded by curate/cli.py only when used), kept apart
from the libraries they call so that no step imports a command module."""
