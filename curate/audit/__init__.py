"""`curate audit`: what each filter did to documents that mention each identity group.

``data`` computes the numbers from a run directory, ``report`` draws Markdown tables and PNGs, ``write`` writes the
audit's files, ``labels`` adds the labelled check; the command is curate/commands/audit.py."""
