"""Reports of a sweep: statistics (stats), tables (tables), plots and report.md for mixtures (mixtures, markdown,
plots) and for curation arms (arms, arms_text); one public report()."""

from train.report.mixtures import SweepData, collect, report, write_summary

__all__ = ["SweepData", "collect", "report", "write_summary"]
