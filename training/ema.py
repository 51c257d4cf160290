"""Exponential moving average (EMA) of a model's weights during training, as EmoNeXt's recipe uses it, on timm's
`ModelEmaV3`; this module is only the glue to the `Trainer` and its checkpoints.

`WeightEMA` is a `TrainerCallback` that updates the average every `update_every` optimizer steps. The decay warms
up as in `ema_pytorch` (which EmoNeXt's code uses): 1 − (1 + n)^(−2/3), capped at `decay`, so the first updates
follow the weights closely and later ones average over about 1 / (1 − decay) updates. What n counts is the recipe:

* `warmup_by="update"` (this project's recipe): n is the number of updates so far, made at steps 16, 32, ...;
* `warmup_by="step"` (the original's, `ema_pytorch` defaults): n is the optimizer step minus 100; until step 100
  the average is a copy of the weights, and updates come at steps 1, 17, 33, ... (its counter starts at 0). After
  one FER2013 epoch (449 steps) the decay is 0.980 this way and 0.894 the other way.

Buffers (BatchNorm statistics) are averaged with the weights, as timm and ema_pytorch do.

`EMATrainer` evaluates the average (or, with `evaluate_average=False`, the raw weights, as the original validates)
and writes it into every checkpoint as `ema.safetensors` (before the Trainer's own files, so a checkpoint complete
enough to resume from has it). The raw weights and the optimizer state stay in the checkpoint too, so a resumed run
continues exactly. At the end, `use_average_of` puts a checkpoint's average into the model that is saved.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Literal

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from timm.utils.model_ema import ModelEmaV3
from transformers import TrainerCallback

from training.trainer_setup import ProjectTrainer

EMA_WEIGHTS = "ema.safetensors"
ORIGINAL_UPDATE_AFTER_STEP = 100  # ema_pytorch's default, which EmoNeXt's code keeps


class WeightEMA(TrainerCallback):
    """Keeps an exponential moving average of a model's floating-point state (timm's `ModelEmaV3`)."""

    def __init__(
        self,
        model: torch.nn.Module,
        decay: float = 0.99,
        update_every: int = 16,
        warmup_by: Literal["update", "step"] = "update",
    ):
        self.model = model
        self.decay = decay
        self.update_every = max(1, update_every)
        self.warmup_by = warmup_by
        self.num_updates = 0
        self.average: ModelEmaV3 | None = None
        self.resume_from: str | None = None  # a checkpoint whose average to start from

    def _new_average(self) -> ModelEmaV3:
        return ModelEmaV3(
            self.model,
            decay=self.decay,
            update_after_step=ORIGINAL_UPDATE_AFTER_STEP if self.warmup_by == "step" else 0,
            use_warmup=True,
            warmup_power=2 / 3,
        )

    def _timm_step(self, global_step: int) -> int:
        # timm's decay is 1 - (1 + n)^(-2/3) with n = step - update_after_step - 1 (0 or less: a copy), so the step
        # passed is this update's number + 1, or the optimizer step itself (n = step - 101, as ema_pytorch counts).
        return self.num_updates + 2 if self.warmup_by == "update" else global_step

    def is_update_step(self, global_step: int) -> bool:
        if self.warmup_by == "step":
            return (global_step - 1) % self.update_every == 0
        return global_step % self.update_every == 0

    def on_train_begin(self, args, state, control, **kwargs):
        """Starts the average from the weights (on their device, now placed), or from the checkpoint resumed."""
        self.average = self._new_average()
        if self.resume_from is not None:
            self.load(Path(self.resume_from))

    def update(self, global_step: int) -> None:
        """Moves the average one step towards the model's current weights."""
        step = self._timm_step(global_step)
        self.average.update(self.model, step=step)
        self.num_updates += 1

    def on_step_end(self, args, state, control, **kwargs):
        if self.is_update_step(state.global_step):
            self.update(state.global_step)

    @contextlib.contextmanager
    def swapped_in(self):
        """Inside the block the model holds the average; afterwards its own weights again."""
        if self.average is None:  # not trained yet: the average is the model
            yield
            return
        saved = {name: value.detach().clone() for name, value in self.model.state_dict().items()}
        self.model.load_state_dict(self.average.module.state_dict())
        try:
            yield
        finally:
            self.model.load_state_dict(saved)

    def save(self, folder: Path) -> None:
        tensors = {name: value.detach().contiguous().cpu() for name, value in self.average.module.state_dict().items()}
        save_file(tensors, str(folder / EMA_WEIGHTS), metadata={"num_updates": str(self.num_updates)})

    def load(self, folder: Path) -> None:
        """Restores the average `save` wrote into a checkpoint folder."""
        if self.average is None:
            self.average = self._new_average()
        with safe_open(str(folder / EMA_WEIGHTS), "pt") as handle:
            for name, value in self.average.module.state_dict().items():
                value.copy_(handle.get_tensor(name))
            self.num_updates = int((handle.metadata() or {}).get("num_updates", 0))

    def use_average(self) -> None:
        """Puts the current average into the model itself (to save or publish it)."""
        if self.average is not None:
            self.model.load_state_dict(self.average.module.state_dict())

    def use_average_of(self, folder: Path) -> None:
        """Loads a checkpoint's average into the model itself (to save or publish it)."""
        self.load(folder)
        self.use_average()


class EMATrainer(ProjectTrainer):
    """A `ProjectTrainer` that checkpoints the weight average as well as the raw weights, and evaluates the average
    (`evaluate_average`) or the raw weights."""

    def __init__(self, *args, ema: WeightEMA, evaluate_average: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.ema = ema
        self.evaluate_average = evaluate_average
        self.add_callback(ema)

    def evaluate(self, *args, **kwargs):
        if not self.evaluate_average:
            return super().evaluate(*args, **kwargs)
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
