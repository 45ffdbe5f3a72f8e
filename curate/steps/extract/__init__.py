"""Extractors: HTML -> main-content plain text (resiliparse by default, trafilatura on request)."""
