"""The notebooks in notebooks/ run top to bottom in a real Jupyter kernel (nbclient), on tiny real data: curated
run directories made from the bundled book and code samples, and a tiny sweep trained on them here."""

from pathlib import Path

import nbformat
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from click.testing import CliRunner
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


def _write_run(run_dir: Path, source: str, docs: list[tuple[str, str]], lang: str | None) -> Path:
    """A curated run directory as curate writes it (the trainer's contract): docs/*.parquet with id, text, ..."""
    (run_dir / "docs").mkdir(parents=True)
    table = pa.table({"id": [d[0] for d in docs], "text": [d[1] for d in docs], "source": [source] * len(docs),
                      "lang": pa.array([lang] * len(docs), pa.string())})
    pq.write_table(table, run_dir / "docs" / "part-00000.parquet")
    return run_dir


def sample_runs(root: Path) -> dict[str, Path]:
    """books: the first 60k characters of three bundled books in 5k-character documents; code: the bundled
    Python files (a few hundred kB of real text in all)."""
    books = []
    for path in sorted((SAMPLES / "books").glob("*.txt"))[:3]:
        text = path.read_text(encoding="utf-8", errors="replace")[:60_000]
        books += [(f"{path.name}#{i}", text[i : i + 5000]) for i in range(0, len(text), 5000)]
    code = [(str(p.relative_to(SAMPLES)), p.read_text(encoding="utf-8", errors="replace"))
            for p in sorted((SAMPLES / "code").rglob("*.py"))[:40]]
    return {"books": _write_run(root / "books", "books", books, "en"),
            "code": _write_run(root / "code", "code", code, None)}


def tiny_sweep(tmp_path: Path) -> Path:
    from train.cli import main

    runs = sample_runs(tmp_path / "runs")
    raw = {
        "mixtures": {"kind": "grid", "divisions": 2},
        "seeds": [1, 2],
        "train": {
            "mix": {"val_fraction": 0.25, "sources": [{"name": n, "run": str(p)} for n, p in runs.items()]},
            "model": {"size": "test"},
            "tokenizer": {"vocab_size": 512, "sample_chars": 200_000},
            "tokens": 15 * 8 * 64, "batch_size": 8, "lr": 3e-3, "eval_interval": 0, "eval_tokens": 1024,
            "checkpoint_interval": 0, "log_interval": 5, "cache_dir": str(tmp_path / "cache"),
        },
    }
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(main, ["sweep", str(tmp_path / "sweep.yaml"), "-o", str(tmp_path / "sweep"), "-q"])
    assert result.exit_code == 0, result.output
    return tmp_path / "sweep"


def test_mixture_study_notebook_runs_top_to_bottom(tmp_path, monkeypatch):
    monkeypatch.setenv("SWEEP_DIR", str(tiny_sweep(tmp_path)))
    nb = nbformat.read(ROOT / "notebooks" / "mixture_study.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "6 runs planned, 3 mixtures x seeds [1, 2]" in text
    shards = text.split("chars_per_token")[1]
    assert "books" in shards and "code" in shards  # documents and tokens per source, counted in DuckDB
    markdown = "".join(o["data"].get("text/markdown", "") for o in outputs if "data" in o)
    assert "Validation loss per mixture" in markdown and "Predicted best mixture" in markdown
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # curves, loss vs weight, report plot


def test_curation_study_notebook_runs_top_to_bottom(web_tagged_run, monkeypatch):
    """On the session's tagged web run (`curate run pipelines/web.yaml --tag-only`), which the notebook reuses."""
    monkeypatch.setenv("CURATION_RUN", str(web_tagged_run))
    nb = nbformat.read(ROOT / "notebooks" / "curation_study.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert f"using the tagged run in {web_tagged_run}: 667 documents" in text
    assert "exact_dup__reason" in text and "gopher_repetition__reason" in text  # what each decision would remove
    # the threshold re-decided in SQL gives back the filtering run's 183 pages at 0.65, fewer at 0.85
    assert "lang_score >= 0.65: 183 documents" in text and "the same as `first = 'kept'`: True" in text
    assert "lang_score >= 0.85: 145 documents" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2  # per-language bars, the threshold grid
    # the arms of a sweep over the same tagged run: raw, all filters and the two controls, 3 seeds each, each
    # compared with raw on the same held-out pages; the noise floor and the primary comparisons with Holm's p
    assert "arms trained: ['all filters', 'random drop', 'raw', 'shuffled']" in text
    assert "noise floor (sd of the paired difference" in text
    assert "3 primary comparisons (Holm over these), 3 exploratory" in text  # 3 arms x (web, mean), web is primary
    assert "shuffled - raw on web: " in text and "Holm p = " in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # + the paired differences per seed
