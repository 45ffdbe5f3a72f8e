"""Export a run to a Hugging Face transformers directory: LlamaForCausalLM weights (safetensors), or
Qwen3ForCausalLM's for a model with QK-norm (Qwen3 is Llama plus q_norm / k_norm, applied before rotary as ours),
and the SentencePiece tokenizer as a LlamaTokenizer, loadable offline with the Auto classes.

The model maps one-to-one (see GPT.hf_state_dict); a ReLU^2 MLP or logit soft-capping has no counterpart in either
architecture, so such a model is refused in one line. The tokenizer needs two settings transformers 5 does not take
from the SentencePiece model: add_prefix_space=False (we train without a dummy prefix) and add_bos_token=True
(every training document starts with <s>). It must be built with from_pretrained(dir) with tokenizer.model in
dir: LlamaTokenizer(vocab_file=...) silently gives an empty tokenizer.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from train.errors import TrainError


def export(run_dir: str | Path, hf_dir: str | Path) -> Path:
    try:
        from transformers import LlamaTokenizer
    except ImportError:
        raise TrainError("export needs transformers: pip install 'curate[hf]'") from None
    from train.checkpoint import load_model

    run_dir, hf_dir = Path(run_dir), Path(hf_dir)
    if not (run_dir / "ckpt.pt").is_file():
        raise TrainError(f"{run_dir} has no ckpt.pt: not a training run directory (train run ... -o DIR)")
    model = load_model(run_dir)
    cfg = model.config
    hf_model = hf_model_for(cfg)
    hf_model.load_state_dict(model.hf_state_dict(), strict=True)
    # Documents are separated by <s> in training, never closed by </s>: a generated <s> ends the document.
    hf_model.generation_config.eos_token_id = [2, 1]
    hf_model.save_pretrained(hf_dir)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(run_dir / "tokenizer" / "tokenizer.model", Path(tmp) / "tokenizer.model")
        tok = LlamaTokenizer.from_pretrained(tmp, add_prefix_space=False, add_bos_token=True,
                                             model_max_length=cfg.block_size)
        tok.save_pretrained(hf_dir)
    shutil.copyfile(run_dir / "tokenizer" / "tokenizer.model", hf_dir / "tokenizer.model")
    # Pin both settings in the config, whatever save_pretrained chose to write.
    config_path = hf_dir / "tokenizer_config.json"
    tok_config = json.loads(config_path.read_text())
    tok_config.update(add_prefix_space=False, add_bos_token=True, model_max_length=cfg.block_size)
    config_path.write_text(json.dumps(tok_config, indent=2))
    return hf_dir


def hf_model_for(cfg):
    """An empty LlamaForCausalLM (Qwen3ForCausalLM with QK-norm) of the model's shape."""
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

    if cfg.mlp != "swiglu" or cfg.logit_softcap:
        raise TrainError(f"cannot export: {'a ReLU^2 MLP' if cfg.mlp != 'swiglu' else 'logit soft-capping'} has "
                         "no counterpart in transformers' Llama or Qwen3 (train with mlp: swiglu, logit_softcap: 0)")
    shape = {
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.n_embd,
        "intermediate_size": cfg.ffn_hidden,
        "num_hidden_layers": cfg.n_layer,
        "num_attention_heads": cfg.n_head,
        "num_key_value_heads": cfg.n_head,
        "head_dim": cfg.head_dim,
        "max_position_embeddings": cfg.block_size,
        "rms_norm_eps": cfg.norm_eps,
        "rope_parameters": {"rope_type": "default", "rope_theta": cfg.rope_theta},
        "hidden_act": "silu",
        "tie_word_embeddings": cfg.tie_embeddings,
        "attention_bias": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "use_cache": True,  # generate() keeps keys and values: linear time in the generated length
    }
    if cfg.qk_norm:
        return Qwen3ForCausalLM(Qwen3Config(**shape, use_sliding_window=False))
    return LlamaForCausalLM(LlamaConfig(**shape, mlp_bias=False))
