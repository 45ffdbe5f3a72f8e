"""Filters and taggers: language ID, quality rules (Gopher, C4, FineWeb, books, code), blocklists, toxicity and
classifier scores, identity-term signals. A filter keeps a document or drops it with a reason slug."""
