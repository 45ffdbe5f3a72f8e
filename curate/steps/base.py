"""The step contract: every curate step is a datatrove ``PipelineStep`` that streams documents.

A step subclass declares, as class attributes:

* ``name``: its versioned registry name (``gopher_quality_v1``);
* ``Params``: a pydantic model; each field has a default that cites its source and a ``description``;
* ``signals``: the columns it adds to ``doc.metadata`` (name -> pyarrow type), declared so schemas are never inferred;
* ``reasons``: the drop-reason slugs it can produce, with one line each.

and implements ``apply(doc) -> reason | None`` (or ``apply_batch``). The base class does the rest: counts
``in``/``kept``/``dropped_<reason>``/``error_<type>`` and ``seconds``, writes every dropped document to
``rejects/`` with its step and reason, and writes its counters to the run's stats when the task ends.
A document whose ``apply`` raises is not lost: it is rejected with reason ``error_<ExceptionType>`` and counted.

Tag mode (``mode: tag`` on a step, or ``curate run --tag-only``): a step that has drop reasons keeps every document
and writes the reason it would have dropped it for to ``<tag_prefix>__reason`` (null: it would keep), counted as
``tagged_<reason>``; the signals are columns as always, so any threshold can be chosen later with a SQL ``where``.
A step leaves a document it tags as it would have rejected it (C4's line filter edits only the pages it keeps).
Exceptions are not decisions: in tag mode too they are rejected as ``error_<ExceptionType>``. Steps without drop
reasons (transforms such as PII redaction) run unchanged; readers' skips stay skips; a step whose drop leaves no
text to keep (HTML extraction) sets ``can_tag = False`` and filters in every mode.
"""

from __future__ import annotations

import gc
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import ClassVar

import numpy as np
import pyarrow as pa
from datatrove.data import Document
from datatrove.pipeline.base import PipelineStep
from pydantic import BaseModel, ConfigDict, Field

from curate import schema
from curate.io import ParquetShardWriter, RunLayout
from curate.redaction import redact_row


class Params(BaseModel):
    """Base for step parameters: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class LangScopedParams(Params):
    """Parameters of a step that can be limited to some languages (``Step.doc_lang`` applies them)."""

    languages: list[str] | None = Field(
        None, description="Apply only to these languages (doc.metadata['lang']); others pass untouched. None: all."
    )
    default_lang: str | None = Field(
        "en", description="Language assumed without metadata['lang'] (no language ID ran); datatrove assumes English."
    )


class Step(PipelineStep):
    """A streaming step: ``apply`` inspects one document, may add signals, returns a drop reason or None."""

    name: ClassVar[str] = "step_v0"
    type = "curate"
    Params: ClassVar[type[BaseModel]] = Params  # the module's Params: no parameters, unknown keys are errors
    signals: ClassVar[dict[str, pa.DataType]] = {}
    reasons: ClassVar[dict[str, str]] = {}
    batch_size: ClassVar[int] = 1  # > 1: `apply_batch` gets lists of this many documents
    kind: ClassVar[str] = "filter"  # filter | reader | global (a step that needs all documents, e.g. dedup)
    # False for the half of a global step that runs before the split (GlobalStep.pre_step): the same documents are
    # counted once, by the filter half after it, so this half reports only its own metrics (seconds, ...)
    counts_documents: ClassVar[bool] = True
    # tag mode: False when a dropped document has no text worth keeping (extraction failed): the step always filters
    can_tag: ClassVar[bool] = True
    # the <prefix> of its tag column <prefix>__reason; None: the prefix its signals share (gopher__x -> gopher), else
    # its name without the version (lang_fasttext_v1 -> lang_fasttext). Set it where two steps share a prefix.
    tag_prefix: ClassVar[str | None] = None
    # A redaction step names the signal column it always sets (``pii__email``): every writer of the run applies the
    # step's ``redact_text`` to a document that column is still null on (curate.redaction), so no file holds what
    # the step would remove, while the steps before it still see the original text in memory.
    redaction_marker: ClassVar[str | None] = None

    def __init__(self, params: BaseModel, layout: RunLayout, stage: str, index: int, mode: str = "filter"):
        super().__init__()
        self.params = params
        self.layout = layout
        self.stage = stage
        self.index = index  # position in the pipeline, so file names sort in pipeline order
        self.counts: Counter = Counter()  # (metric, file) -> value
        self._rejects: ParquetShardWriter | None = None
        self._ready = False
        self.mode = mode  # "filter" or "tag" (the step's, or the pipeline's, `mode:` in the config)

    # -- tag mode ---------------------------------------------------------------------------------------------------
    @classmethod
    def taggable(cls) -> bool:
        """Whether ``mode: tag`` applies: a step with drop reasons whose dropped documents still have text."""
        return cls.kind != "reader" and bool(cls.reasons) and cls.can_tag

    @classmethod
    def tag_column_prefix(cls) -> str:
        """``tag_prefix``, else the prefix its signals share (``gopher__x`` -> gopher), else its unversioned name."""
        if cls.tag_prefix:
            return cls.tag_prefix
        prefixes = {n.split("__")[0] for n in cls.signals if "__" in n}
        return prefixes.pop() if len(prefixes) == 1 else re.sub(r"_v[0-9]+$", "", cls.name)

    @classmethod
    def tag_columns(cls) -> dict[str, pa.DataType]:
        """The columns a step in tag mode adds to docs/: ``<prefix>__reason``."""
        return {cls.tag_column_prefix() + schema.REASON_SUFFIX: schema.TAG_TYPE}

    def tag(self, doc: Document, reason: str) -> None:
        """Tag mode: record ``reason`` in the document's tag column (and a dedup's kept id); the document is kept."""
        self.count(f"tagged_{reason}")
        self.count("tagged")
        doc.metadata[self.tag_column_prefix() + schema.REASON_SUFFIX] = reason
        duplicate_of = doc.metadata.pop("duplicate_of", None)  # a column of rejects/, not of docs/
        if duplicate_of is not None:
            doc.metadata[self.tag_column_prefix() + schema.DUPLICATE_OF_SUFFIX] = duplicate_of

    # -- what subclasses implement -------------------------------------------------------------------------------
    def setup(self) -> None:
        """Load models / word lists. Called once per task, in the worker, before the first document."""

    def apply(self, doc: Document) -> str | None:
        """Add signals to ``doc.metadata``; return a drop reason slug, or None to keep the document."""
        return None

    def redact_text(self, text: str) -> tuple[str, dict]:
        """A redaction step (``redaction_marker`` set): the redacted text and this step's signal columns for it."""
        raise NotImplementedError

    def apply_batch(self, docs: list[Document]) -> list[str | None]:
        return [self.apply(doc) for doc in docs]

    def doc_lang(self, doc: Document) -> str | None:
        """For a step with ``LangScopedParams``: the document's language (``default_lang`` without one), or None
        when ``languages`` leaves it out, counted as ``skipped_other_lang`` (the step then keeps it untouched)."""
        lang = doc.metadata.get("lang") or self.params.default_lang
        if self.params.languages is not None and lang not in self.params.languages:
            self.count("skipped_other_lang")
            return None
        return lang

    # -- the machinery ----------------------------------------------------------------------------------------------
    def count(self, metric: str, value: float = 1, file: str | None = None) -> None:
        self.counts[(metric, file)] += value

    def reject(self, doc: Document, reason: str, rank: int, duplicate_of: str | None = None) -> None:
        """Write ``doc`` to rejects/ with this step's name and ``reason``."""
        self.count(f"dropped_{reason}")
        self.count("dropped")
        if self._rejects is None:
            path = self.layout.rejects_dir / f"{self.index:02d}_{self.name}_{rank:05d}.parquet"
            self._rejects = ParquetShardWriter(path, self.layout.rejects_schema)
        row = redact_row(self.layout, schema.doc_row(doc, self.layout.docs_schema))
        row.update(step=self.name, reason=reason, duplicate_of=duplicate_of or doc.metadata.get("duplicate_of"))
        self._rejects.write(row)

    def _judge(self, batch: list[Document], rank: int) -> Iterator[Document]:
        t0 = time.perf_counter()
        try:
            verdicts = self.apply_batch(batch)
        except Exception:  # noqa: BLE001 - one bad document must not take its batch down: judge them one at a time
            verdicts = []
            for doc in batch:
                try:
                    verdicts.append(self.apply_batch([doc])[0])
                except Exception as e:  # noqa: BLE001 - counted, named, and the document kept in rejects/
                    self.count(f"error_{type(e).__name__}", file=doc.metadata.get("input_file"))
                    verdicts.append(f"error_{type(e).__name__}")
        self.count("seconds", time.perf_counter() - t0)
        for doc, reason in zip(batch, verdicts):
            if reason is not None and self.mode == "tag" and not reason.startswith("error_"):
                self.tag(doc, reason)
                reason = None
            if reason is None:
                self.count("kept")
                yield doc
            else:
                self.reject(doc, reason, rank)

    def run(self, data: Iterable[Document], rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        self.rank, self.world_size = rank, world_size
        if not self._ready:
            t0 = time.perf_counter()
            self.setup()
            self._ready = True
            # what exists now (modules, loaded models and word lists) lives as long as the task: the cyclic garbage
            # collector's full passes need not walk it again (refcounting still frees it). 0.06 of the 0.11 s a
            # 1,000-page web.yaml task spent collecting.
            gc.freeze()
            self.count("seconds", time.perf_counter() - t0)
        batch: list[Document] = []
        for doc in data:
            self.count("in")
            batch.append(doc)
            if len(batch) >= self.batch_size:
                yield from self._judge(batch, rank)
                batch = []
        if batch:
            yield from self._judge(batch, rank)
        self.finish(rank)

    def finish(self, rank: int) -> None:
        """End of task: make the rejects shard visible and write this step's counters."""
        if self._rejects is not None:
            self._rejects.close()
            self._rejects = None
        if not self.counts_documents:
            self.counts = Counter({k: v for k, v in self.counts.items() if k[0] not in ("in", "kept")})
        write_stats(self.layout, self.stage, self.index, self.name, rank, self.counts)
        self.counts = Counter()


def write_stats(layout: RunLayout, stage: str, index: int, step: str, rank: int, counts: Counter) -> None:
    """Write one step's counters for one task as a small Parquet file under _work/stats/ (merged at the end)."""
    rows = [
        {"stage": stage, "position": index, "step": step, "metric": m, "value": float(v), "file": f, "rank": rank}
        for (m, f), v in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
    ]
    path = layout.work / "stats" / stage / f"{index:02d}_{step}_{rank:05d}.parquet"
    with ParquetShardWriter(path, schema.STATS_SCHEMA) as w:
        for row in rows:
            w.write(row)


class Skip:
    """What a reader yields for a record that does not become a document: counted with its reason and file.

    ``error=False`` is an expected skip (a non-HTML payload, a `request` record) -> metric ``skipped_<reason>``;
    ``error=True`` is bad input (invalid JSON, an undecodable page) -> metric ``error_<reason>``.
    """

    __slots__ = ("error", "reason")

    def __init__(self, reason: str, error: bool = False):
        self.reason = reason
        self.error = error


class _CountingFile:
    """Wraps a binary file object and adds the bytes read to a counter (for MB/s and ETA)."""

    def __init__(self, f, progress):
        self._f = f
        self._progress = progress

    def read(self, n=-1):
        b = self._f.read(n)
        self._progress.add_bytes(len(b))
        return b

    def readinto(self, buf):
        n = self._f.readinto(buf)
        self._progress.add_bytes(n or 0)
        return n

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __iter__(self):
        for line in self._f:
            self._progress.add_bytes(len(line))
            yield line

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


class Reader(Step):
    """First step of a pipeline: turns input files into documents. Files are sharded by ``(rank, world_size)``.

    Subclasses implement ``read_file(path) -> Iterator[Document | Skip]`` and open files with ``self.open(path)``
    (which feeds the progress line). A file that raises part-way is counted as ``error_<Exception>`` for that file;
    the documents read before the failure are kept and the run goes on with the next file.
    """

    kind: ClassVar[str] = "reader"

    def __init__(self, params, layout, stage, index, paths: list[str], source: str):
        super().__init__(params, layout, stage, index)
        self.paths = list(paths)
        self.source = source
        self.progress = None

    def read_file(self, path: str) -> Iterator[Document | Skip]:
        raise NotImplementedError

    @classmethod
    def input_columns(cls, params, paths: list[str]) -> dict[str, pa.DataType]:
        """Columns of the input files this reader can carry through as metadata, by name and type (from the files'
        own schemas, read before any work). The compiler declares those no step of the pipeline declares and lists
        them in ``layout.carried_columns``. Default: none."""
        return {}

    def open(self, path: str):
        return _CountingFile(open(path, "rb"), self.progress)

    def file_name(self, path: str) -> str:
        """``path`` as default document ids name it: relative to the folder that holds every input of the run (one
        input: its base name). Unique within a run (``a/part-0.jsonl`` vs ``b/part-0.jsonl``) and the same on every
        re-run over the same inputs; every task knows all paths, so all tasks agree."""
        if getattr(self, "_names", None) is None:
            self._names = relative_names(self.paths)
        return self._names.get(path) or os.path.basename(path)

    def _timed(self, items: Iterator) -> Iterator:
        """Yield from ``items``, counting only the time spent producing them (not the time downstream)."""
        it = iter(items)
        while True:
            t0 = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                return
            finally:
                self.count("seconds", time.perf_counter() - t0)
            yield item

    def run(self, data=None, rank: int = 0, world_size: int = 1) -> Iterator[Document]:
        from curate.progress import Progress

        self.rank, self.world_size = rank, world_size
        if not self._ready:  # e.g. a missing optional dependency fails here, before any file is read
            self.setup()
            self._ready = True
        files = self.paths[rank::world_size]
        self.progress = Progress(f"{self.stage} {rank + 1}/{world_size}", total_bytes=sum(_size(p) for p in files))
        for path in files:
            self.count("files")
            try:
                for item in self._timed(self.read_file(path)):
                    if isinstance(item, Skip):
                        self.count(f"{'error' if item.error else 'skipped'}_{item.reason}", file=path)
                        continue
                    item.metadata.setdefault("source", self.source)
                    item.metadata["input_file"] = path
                    if _repair_unicode(item):
                        self.count("repaired_invalid_unicode", file=path)
                    self.count("records", file=path)
                    self.count("kept")
                    self.progress.add_doc()
                    yield item
            except Exception as e:  # noqa: BLE001 - a bad file fails that file, counted and named
                self.count(f"error_{type(e).__name__}", file=path)
                self.progress.note(f"error in {path}: {type(e).__name__}: {e}")
        self.progress.done()
        self.finish(rank)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _repair_unicode(doc: Document) -> bool:
    """Replace lone surrogates with U+FFFD in the text, id and string metadata; True if any was replaced.

    JSON may escape a lone surrogate (``"\\ud800"``, common in truncated social-media text); Python keeps it in a str,
    but it has no UTF-8 encoding, so Parquet cannot store it and the whole shard's write would fail. One bad character
    must not cost the document, let alone its shard: it is repaired and counted (``repaired_invalid_unicode``).
    """
    repaired = False
    if _has_surrogate(doc.text):
        doc.text, repaired = _SURROGATE.sub("\ufffd", doc.text), True
    if _has_surrogate(doc.id):
        doc.id, repaired = _SURROGATE.sub("\ufffd", doc.id), True
    for key, value in doc.metadata.items():
        if isinstance(value, str) and _has_surrogate(value):
            doc.metadata[key], repaired = _SURROGATE.sub("\ufffd", value), True
    return repaired


def _has_surrogate(text: str) -> bool:
    """A pure-ASCII str has none (``str.isascii`` reads a flag CPython keeps, no scan); any other has one exactly
    when it has no UTF-8 encoding, which CPython's encoder finds 5x faster than a regex search (1,000 web pages'
    HTML: 0.015 s against 0.079 s)."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def relative_names(paths: list[str]) -> dict[str, str]:
    """{path: path relative to the deepest folder holding all ``paths``} (``/`` separated)."""
    if not paths:
        return {}
    absolute = {p: os.path.abspath(p) for p in paths}
    root = os.path.commonpath([os.path.dirname(a) for a in absolute.values()])
    return {p: os.path.relpath(a, root).replace(os.sep, "/") for p, a in absolute.items()}


def _size(path: str) -> int:
    try:
        return 0 if os.path.isdir(path) else os.path.getsize(path)  # a directory input (a repository): no ETA
    except OSError:
        return 0


class GlobalStep(Step):
    """A step that needs to see every document before deciding (dedup). The compiler splits the pipeline here:

    1. ``pre_step()`` (optional) runs at the end of the segment before, e.g. to compute a hash signal;
    2. that segment's documents are written to intermediate shards ``_work/segment<k>/<rank>.parquet``;
    3. ``global_stages(segment_dir, tasks)`` run (e.g. one task that finds duplicates from the hash column);
    4. the step itself then runs as a streaming filter at the start of the next segment, whose reader sets
       ``doc.metadata["_row"] = (rank, row)`` so ``apply`` can look its document up in what step 3 wrote.

    A step with ``shares_segment`` that directly follows another global step (exact dedup, then MinHash) does not
    open a segment of its own: its pre-step runs beside the first one's, before the same split, its global stages
    after the first one's, and it is applied right after it, in the same segment. Its stages must then decide as if
    the documents those ``upstream`` steps remove (``removed_rows``) were not there, or in tag mode were tagged: one
    pass over every document's text less, the same decisions (the compiler keeps them apart when a redaction step
    comes later: the second step would otherwise judge a text the split had not yet redacted).
    """

    kind: ClassVar[str] = "global"
    shares_segment: ClassVar[bool] = False
    upstream: tuple[GlobalStep, ...] = ()  # set by the compiler: global steps applied just before, same segment

    def removed_rows(self) -> dict[int, np.ndarray]:
        """{segment shard: its rows (sorted)} this step removes, or tags in tag mode; read after its global stages
        ran. A global step that another may follow in its segment implements it."""
        raise NotImplementedError(f"{self.name} cannot be followed by a global step in its segment")

    @classmethod
    def tag_columns(cls) -> dict[str, pa.DataType]:
        """A dedup step in tag mode keeps every copy: ``<prefix>__reason`` and the kept copy's id."""
        return {**super().tag_columns(), cls.tag_column_prefix() + schema.DUPLICATE_OF_SUFFIX: schema.TAG_TYPE}

    def pre_step(self, stage: str) -> Step | None:
        """The streaming step that ends segment ``stage`` (hashes, signatures) before the global stages, if any."""
        return None

    def global_stages(self, segment_dir, tasks: int) -> list[tuple[str, list, int]]:
        """[(stage name, datatrove pipeline, number of tasks)] to run between the two segments."""
        return []
