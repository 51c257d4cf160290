"""Exponential moving average (EMA) of a model's weights during training, as EmoNeXt's recipe uses it.

`WeightEMA` is a `TrainerCallback`: after every `update_every` optimizer steps it moves the average towards the
current weights. The decay warms up as in `ema_pytorch` (which EmoNeXt's code uses): after n updates it is
min(decay, 1 − (1 + n)^(−2/3)), so the first updates follow the weights closely and later ones average over about
1 / (1 − decay) updates. Buffers (BatchNorm statistics) are copied, not averaged.

`EMATrainer` evaluates the average, not the raw weights, and writes it into every checkpoint as `ema.safetensors`
(before the Trainer's own files, so a checkpoint complete enough to resume from has it). The raw weights and the
optimizer state stay in the checkpoint too, so a resumed run continues exactly. At the end, `use_average_of` puts
the best checkpoint's average into the model that is saved.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import TrainerCallback

from training.trainer_setup import ProjectTrainer

EMA_WEIGHTS = "ema.safetensors"


class WeightEMA(TrainerCallback):
    """Keeps an exponential moving average of a model's floating-point state."""

    def __init__(self, model: torch.nn.Module, decay: float = 0.99, update_every: int = 16):
        self.model = model
        self.decay = decay
        self.update_every = max(1, update_every)
        self.num_updates = 0
        self.shadow: dict[str, torch.Tensor] | None = None
        self.resume_from: str | None = None  # a checkpoint whose average to start from

    def current_decay(self) -> float:
        return min(self.decay, 1.0 - (1.0 + self.num_updates) ** (-2.0 / 3.0))

    def on_train_begin(self, args, state, control, **kwargs):
        """Starts the average from the weights (on their device), or from the checkpoint being resumed."""
        self.shadow = {name: value.detach().clone() for name, value in self.model.state_dict().items()}
        if self.resume_from is not None:
            self.load(Path(self.resume_from))

    @torch.no_grad()
    def update(self) -> None:
        """Moves the average one step towards the model's current weights."""
        self.num_updates += 1
        decay = self.current_decay()
        for name, value in self.model.state_dict().items():
            shadow = self.shadow[name]
            if value.is_floating_point():
                shadow.lerp_(value.detach().to(shadow.dtype), 1.0 - decay)
            else:
                shadow.copy_(value)

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step % self.update_every == 0:
            self.update()

    @contextlib.contextmanager
    def swapped_in(self):
        """Inside the block the model holds the average; afterwards its own weights again."""
        if self.shadow is None:  # not trained yet: the average is the model
            yield
            return
        saved = {name: value.detach().clone() for name, value in self.model.state_dict().items()}
        self.model.load_state_dict(self.shadow)
        try:
            yield
        finally:
            self.model.load_state_dict(saved)

    def save(self, folder: Path) -> None:
        tensors = {name: value.detach().contiguous().cpu() for name, value in self.shadow.items()}
        save_file(tensors, str(folder / EMA_WEIGHTS), metadata={"num_updates": str(self.num_updates)})

    def load(self, folder: Path) -> None:
        """Restores the average `save` wrote into a checkpoint folder."""
        path = folder / EMA_WEIGHTS
        if self.shadow is None:
            self.shadow = {name: value.detach().clone() for name, value in self.model.state_dict().items()}
        with safe_open(str(path), "pt") as handle:
            for name, shadow in self.shadow.items():
                shadow.copy_(handle.get_tensor(name))
            self.num_updates = int((handle.metadata() or {}).get("num_updates", 0))

    def use_average_of(self, folder: Path) -> None:
        """Loads a checkpoint's average into the model itself (to save or publish it)."""
        self.load(folder)
        self.model.load_state_dict(self.shadow)


class EMATrainer(ProjectTrainer):
    """A `ProjectTrainer` that evaluates and checkpoints the weight average as well as the raw weights."""

    def __init__(self, *args, ema: WeightEMA, **kwargs):
        super().__init__(*args, **kwargs)
        self.ema = ema
        self.add_callback(ema)

    def evaluate(self, *args, **kwargs):
        with self.ema.swapped_in():
            return super().evaluate(*args, **kwargs)

    def _save_checkpoint(self, model, trial):
        # The average goes in first: the Trainer writes trainer_state.json last, and that file marks a checkpoint
        # as complete (see trainer_setup.complete_checkpoints).
        if self.args.should_save:
            folder = Path(self._get_output_dir(trial)) / f"checkpoint-{self.state.global_step}"
            folder.mkdir(parents=True, exist_ok=True)
            self.ema.save(folder)
        super()._save_checkpoint(model, trial)
