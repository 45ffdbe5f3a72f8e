"""Optimizers and the learning-rate schedule.

`build` makes the seeded model and its optimizer: AdamW for every parameter (`optimizer: adamw`), or Muon for the
hidden weight matrices with AdamW for the embedding, the head and the norm gains (`optimizer: muon`, the
modded-nanogpt speedrun's split; Jordan et al. 2024, "Muon: An optimizer for hidden layers"). Muon's update is scaled
to AdamW's RMS (Moonshot's rule, Liu et al. 2025, "Muon is Scalable for LLM Training"), so one peak `lr` and one
weight decay serve both unless `muon_lr` gives Muon its own.

`lr_at` is the schedule: linear warm-up, then cosine decay to `min_lr` (`schedule: cosine`), or warmup-stable-decay:
flat at the peak, then a linear decay to `min_lr` over the last `cooldown` fraction of the steps (`schedule: wsd`;
`linear` is WSD with the decay starting right after warm-up). Every optimizer's groups follow the same shape: a
group's lr is the schedule's value times its `lr_scale` (Muon's peak over AdamW's).
"""

from __future__ import annotations

import math

import torch

from train.config import TrainConfig
from train.errors import TrainError


def lr_at(config: TrainConfig, step: int) -> float:
    """AdamW's learning rate for `step` (0-based): linear warm-up to lr over int(warmup * steps) steps, then the
    decay `schedule` asks for: cosine reaches min_lr at the last step; the linear decays fall by (lr - min_lr) / decay
    steps a step from the peak at their first step, so the step after the last would take min_lr."""
    steps, warmup = config.steps, int(config.warmup * config.steps)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    if config.schedule == "cosine":
        progress = (step - warmup) / max(1, steps - warmup)
        return config.min_lr + 0.5 * (1 + math.cos(math.pi * min(1.0, progress))) * (config.lr - config.min_lr)
    decay = steps - warmup if config.schedule == "linear" else min(steps - warmup, round(config.cooldown * steps))
    if step < steps - decay:
        return config.lr
    return config.min_lr + (config.lr - config.min_lr) * min(1.0, (steps - step) / max(1, decay))


def set_lr(optimizer, lr: float) -> None:
    """Every parameter group of `optimizer` (one torch optimizer or `MuonAdamW`) to lr times its lr_scale."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)


def build(config: TrainConfig, model_cfg, device: torch.device | str = "cpu"):
    """The model, initialised from the seed (on the CPU, so every device starts from the same weights), and its
    optimizer: weight decay on matrices only (not on norm gains); torch's fused AdamW where it has one."""
    from train.model.gpt import GPT

    torch.manual_seed(config.seed)
    model = GPT(model_cfg).to(device)
    return model, make_optimizer(model, config)


def split_params(model) -> dict[str, list[torch.nn.Parameter]]:
    """Which optimizer owns each parameter under `optimizer: muon`: "muon" the 2-D weights inside the blocks
    (attention and MLP projections), "adamw" the embedding and an untied head (matrices whose rows are tokens,
    where an orthogonalised update has no meaning: Jordan et al.), "gains" the norm weights (no decay)."""
    groups = {"muon": [], "adamw": [], "gains": []}
    for name, p in model.named_parameters():
        if p.dim() < 2:
            groups["gains"].append(p)
        elif name.startswith("layers."):
            groups["muon"].append(p)
        else:
            groups["adamw"].append(p)
    return groups


def make_optimizer(model, config: TrainConfig):
    if config.optimizer == "adamw":
        decay = [p for p in model.parameters() if p.dim() >= 2]
        no_decay = [p for p in model.parameters() if p.dim() < 2]
        return adamw([{"params": decay, "weight_decay": config.weight_decay},
                      {"params": no_decay, "weight_decay": 0.0}], config)
    parts = split_params(model)
    scale = (config.muon_lr or config.lr) / config.lr
    muon = torch.optim.Muon([{"params": parts["muon"], "lr_scale": scale}], lr=config.lr * scale,
                            weight_decay=config.weight_decay, momentum=config.muon_momentum,
                            adjust_lr_fn="match_rms_adamw")
    groups = [{"params": parts["adamw"], "weight_decay": config.weight_decay},
              {"params": parts["gains"], "weight_decay": 0.0}]
    return MuonAdamW(muon, adamw([g for g in groups if g["params"]], config))


def adamw(params, config: TrainConfig) -> torch.optim.AdamW:
    kwargs = {"lr": config.lr, "betas": (config.beta1, config.beta2)}
    if config.fused_adamw:
        try:
            return torch.optim.AdamW(params, fused=True, **kwargs)
        except (RuntimeError, TypeError):  # this torch has no fused kernel for the device
            pass
    return torch.optim.AdamW(params, foreach=True, **kwargs)


class MuonAdamW:
    """Muon and AdamW stepped together, seen by the loop and the checkpoint as one optimizer."""

    def __init__(self, muon: torch.optim.Muon, adamw: torch.optim.AdamW):
        self.muon, self.adamw = muon, adamw

    @property
    def param_groups(self) -> list[dict]:
        return self.muon.param_groups + self.adamw.param_groups

    def step(self) -> None:
        self.muon.step()
        self.adamw.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.muon.zero_grad(set_to_none=set_to_none)
        self.adamw.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        return {"muon": self.muon.state_dict(), "adamw": self.adamw.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if set(state) != {"muon", "adamw"}:
            raise TrainError("the checkpoint holds one AdamW's state (written with optimizer: adamw) and this run "
                             "uses optimizer: muon; resume it with --set optimizer=adamw")
        self.muon.load_state_dict(state["muon"])
        self.adamw.load_state_dict(state["adamw"])
