"""Transforms: steps that edit the text (PII and secret redaction, Gutenberg boilerplate, counterfactual swaps)."""
