"""The compact trainer: curated run directories (docs/*.parquet) -> tokenizer -> token shards -> a Transformer."""

import os

# With other busy processes on few cores (or two torch processes under torchrun), OpenMP threads that spin-wait
# slow torch down 10-60x (measured on a shared 2-core machine). Passive waiting costs nothing measurable here; it must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
