"""What a run read: RUN_DIR/trained_on.parquet (one row per training document) and RUN_DIR/splits.json (per
source: training documents, training stream tokens (repeats included) and unique tokens, validation documents and
tokens, tokens scored, whether it was held out by chunks, epochs = tokens seen / unique tokens), written when a
run ends; `train bom RUN_DIR` sums trained_on.parquet by source, licence and language.

trained_on.parquet columns: id (as in the curated run's docs), source, run (the curated run directory, absolute),
url, path (the input file), license (null where the run has no licence column), lang, tokens (the document's
training tokens, counted once), repeat (times repeat_by put it in the training stream), epochs (expected passes the
model made over it: repeat x tokens seen / training tokens of its source), tokens_seen (tokens x epochs).
It joins back to the curated run: `SELECT d.*, t.epochs FROM 'RUN/trained_on.parquet' t JOIN 'CURATED/docs/*.parquet'
d USING (id)`.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq

from train.errors import TrainError

SCHEMA = pa.schema([("id", pa.string()), ("source", pa.string()), ("run", pa.string()), ("url", pa.string()),
                    ("path", pa.string()), ("license", pa.string()), ("lang", pa.string()), ("tokens", pa.int64()),
                    ("repeat", pa.int64()), ("epochs", pa.float64()), ("tokens_seen", pa.float64())])
LICENSE_COLUMNS = ("license", "licence", "spdx_license")


def write_trained_on(out: Path, config, prepared, tokens_seen) -> None:
    """Write trained_on.parquet and splits.json into the run directory `out` (rank 0, at the end of a run)."""
    from train.data.sources import open_source

    tables, splits = [], {}
    for i, (source_cfg, shard_dir, seen) in enumerate(zip(config.mix.sources, prepared.shard_dirs, tokens_seen)):
        source = open_source(source_cfg, i, config.mix)
        meta = json.loads((Path(shard_dir) / "meta.json").read_text())
        selection = prepared.selections[i] if prepared.selections else None
        train_tokens = selection.tokens if selection is not None else 0
        source_epochs = float(seen) / train_tokens if train_tokens else 0.0
        val = pq.read_table(Path(shard_dir) / "val.idx.parquet", columns=["id"]).column(0)
        splits[source_cfg.name] = {
            "run": str(Path(source_cfg.run).resolve()), "where": source_cfg.where, "train_where": source_cfg.train_where,
            "repeat_by": source_cfg.repeat_by, "chunked": source.chunked, "weight": source_cfg.weight,
            "eval_all": source_cfg.eval_all, "train_docs": 0, "train_tokens": train_tokens,
            "val_docs": len(set(val.to_pylist())), "val_tokens": int(meta["tokens"]["val"]),
            "eval_tokens": _evaluated(int(meta["tokens"]["val"]), config), "tokens_seen": int(seen),
            "stream_epochs": source_epochs}
        if source_cfg.eval_all or source_cfg.weight == 0:  # an evaluation set, or a source this mix never reads
            continue
        table = _documents(source, _reads(selection), source_epochs)
        unique = int(pa.compute.sum(table.column("tokens")).as_py() or 0)
        splits[source_cfg.name] |= {"train_docs": table.num_rows, "unique_tokens": unique,
                                    "epochs": float(seen) / unique if unique else 0.0}
        tables.append(table.cast(SCHEMA))
    table = pa.concat_tables(tables) if tables else SCHEMA.empty_table()
    pq.write_table(table, out / "trained_on.parquet")
    (out / "splits.json").write_text(json.dumps(splits, indent=2))


def _evaluated(val_tokens: int, config) -> int:
    """Validation tokens the loop scores (train.data.MixtureSampler.val_windows: whole windows, eval_tokens cap)."""
    T = config.model.block_size
    whole = (val_tokens - 1) // T
    return T * max(1, min(config.eval_tokens // T, whole) if config.eval_tokens else whole) if val_tokens > T else 0


def _reads(selection) -> pa.Table:
    """Per piece the run reads: its document's id, its tokens in one epoch of the stream (repeats included) and the
    times it is read, from the run's Selection over the shard's (and the shuffled copies') pieces."""
    read = selection.times > 0
    return pa.table({"id": pa.array([i for i, r in zip(selection.ids, read) if r], pa.string()),
                     "stream": pa.array((selection.lengths * selection.times)[read]),
                     "repeat": pa.array(selection.times[read])})


def _documents(source, reads: pa.Table, source_epochs: float) -> pa.Table:
    con = source.connect()
    columns = {row[0] for row in con.execute("DESCRIBE docs").fetchall()}
    pick = {c: c if c in columns else "NULL" for c in ("url", "input_file", "lang")}
    lic = next((c for c in LICENSE_COLUMNS if c in columns), "NULL")
    con.register("reads", reads)
    run = str(Path(source.config.run).resolve()).replace("'", "''")
    name = source.config.name.replace("'", "''")
    sql = f"""
        WITH used AS (SELECT id, sum(stream) AS stream, max(repeat) AS repeat FROM reads GROUP BY id),
             meta AS (SELECT id, any_value({pick['url']}) AS url, any_value({pick['input_file']}) AS path,
                             any_value({lic}) AS license, any_value({pick['lang']}) AS lang
                      FROM docs WHERE id IN (SELECT id FROM used) GROUP BY id)
        SELECT used.id, '{name}' AS source, '{run}' AS run, meta.url, meta.path, meta.license::VARCHAR AS license,
               meta.lang, (stream // repeat)::BIGINT AS tokens, repeat::BIGINT AS repeat,
               repeat * {source_epochs!r}::DOUBLE AS epochs, stream * {source_epochs!r}::DOUBLE AS tokens_seen
        FROM used LEFT JOIN meta USING (id) ORDER BY used.id"""
    return con.sql(sql).to_arrow_table()


def bom(run_dir: str | Path) -> list[dict]:
    """Rows of (source, license, lang, docs, tokens, tokens_seen, share of tokens seen), most read first."""
    path = Path(run_dir) / "trained_on.parquet"
    if not path.is_file():
        raise TrainError(f"{run_dir} has no trained_on.parquet: not a finished training run directory")
    con = duckdb.connect()
    sql = """SELECT source, coalesce(license, '(none)') AS license, coalesce(lang, '(none)') AS lang,
                    count(*) AS docs, sum(tokens)::BIGINT AS tokens, sum(tokens_seen) AS tokens_seen
             FROM read_parquet(?) GROUP BY ALL ORDER BY tokens_seen DESC, source, license, lang"""
    rows = [dict(zip(("source", "license", "lang", "docs", "tokens", "tokens_seen"), r))
            for r in con.execute(sql, [str(path)]).fetchall()]
    total = sum(r["tokens_seen"] for r in rows) or 1.0
    for r in rows:
        r["share"] = r["tokens_seen"] / total
    return rows


def render(rows: list[dict], run_dir: str | Path, top: int = 40) -> str:
    """The bill of materials as a plain-text table (the `top` largest groups, then one line for the rest)."""
    lines = [f"{'source':<12} {'licence':<16} {'lang':<6} {'docs':>8} {'tokens':>12} {'tokens seen':>12} {'share':>6}"]
    for r in rows[:top]:
        lines.append(f"{r['source'][:12]:<12} {r['license'][:16]:<16} {r['lang'][:6]:<6} {r['docs']:>8,} "
                     f"{r['tokens']:>12,} {r['tokens_seen']:>12,.0f} {100 * r['share']:>5.1f}%")
    rest = rows[top:]
    if rest:
        lines.append(f"... {len(rest)} more group(s): {sum(r['docs'] for r in rest):,} docs, "
                     f"{100 * sum(r['share'] for r in rest):.1f}% of tokens seen")
    docs, seen = sum(r["docs"] for r in rows), sum(r["tokens_seen"] for r in rows)
    lines.append(f"{run_dir}: {docs:,} training documents, {seen:,.0f} tokens seen")
    return "\n".join(lines)
