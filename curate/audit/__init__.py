"""`curate audit`: what each filter did to documents that mention each identity group.

``data`` computes the numbers from a run directory, ``report`` writes Markdown and PNGs, ``command`` is the CLI."""
