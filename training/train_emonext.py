"""Fine-tune EmoNeXt for facial expression recognition, so that the embedder the extraction uses knows emotions.

The recipe is EmoNeXt's (El Boudouri & Bohi, MMSP 2023; github.com/yelboudouri/EmoNeXt `train.py`):

* data: an image folder or Hub dataset with FER2013's layout (`train/`, `val/` or `validation/`, `test/`, one
  folder per class; `--validation_fraction` of train is held out when there is no validation split). Class names
  map onto the project's seven emotions (see `training/fer_images.py`);
* augmentations: horizontal and vertical flips, resize to 236/224 of the input, rotation up to 20°, random crop;
* loss: cross-entropy with label smoothing 0.2 plus the self-attention regulariser (both inside
  `EmoNeXtForImageClassification`, weights in its config);
* optimiser: AdamW, weight decay 0.01, batch 64, gradient clipping at 1.0;
* an exponential moving average of the weights (decay 0.99, updated every 16 steps);
* early stopping on validation accuracy with patience 12, up to 300 epochs.

Two recipes (`--recipe`):

* `improved` (default): RGB with the ImageNet mean and std, exactly what the extraction's processor feeds the model;
  peak learning rate 1e-3 after a linear warm-up over 128 steps, then one cosine decay; the weight average's decay
  warms up by its own update count and is what is evaluated, selected and saved; the test split is scored on the
  center crop; the backbone in `--model_config` (ImageNet-1k for `hub_configs/emonext-base`).
* `original`: the original code exactly: raw [0, 1] pixels; its scheduler (linear warm-up over 128 steps to 1e-3,
  then a cosine to 0, restarting every 1024 steps: `--warm_restarts_every 1024`); the weight average's decay warms
  up by optimizer step from step 100 (as `ema_pytorch` does); validation (and the best-epoch choice) on the raw
  weights; the test split scored with the final weight average on ten crops (224 of 236, logits averaged), which is
  the model saved; the ImageNet-22k backbone (`convnext_*.fb_in22k`, the original's `--in_22k`); seed 2001.

Start from ImageNet with `--from_pretrained_backbone` (timm's weights for the backbone; they must be downloadable or
in the Hugging Face cache). The saved model (`EmoNeXtForImageClassification`) loads as the embedder with
`AutoModel.from_pretrained` or `extract_embeddings.py --model`. Every `TrainingArguments` option works, and a JSON or
YAML config file (`train_emonext.py run.yaml`).

Examples:

    accelerate launch training/train_emonext.py --dataset data/fer2013 --output_dir runs/emonext-base \\
        --from_pretrained_backbone

    accelerate launch training/train_emonext.py --dataset data/fer2013 --output_dir runs/emonext-tiny-original \\
        --model_config configs/emonext-tiny.json --from_pretrained_backbone --recipe original
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import timm
import torch
from torch.optim.lr_scheduler import LambdaLR
from transformers import EvalPrediction, default_data_collator, set_seed

from modeling import EMOTION_LABELS, EmoNeXtConfig, EmoNeXtForImageClassification
from training.cli import first_line
from training.ema import EMATrainer, WeightEMA
from training.fer_images import load_image_set, with_transforms
from training.trainer_args import ProjectTrainingArguments, parse_arguments
from training.trainer_setup import (
    Section,
    TrainerRun,
    TrainingInputError,
    clean_metrics,
    early_stopping,
    finish_run,
    load_config,
    prepare_output_dir,
    run_trainer,
)

HUB_CONFIGS = Path(__file__).resolve().parent.parent / "hub_configs"
DEFAULT_CONFIG = str(HUB_CONFIGS / "emonext-base")
ORIGINAL_SEED = 2001
TEN_CROPS = 10


@dataclass
class EmoNeXtArguments:
    """The image set, the model and the EmoNeXt-specific parts of the recipe."""

    dataset: str = field(
        metadata={"help": "Image folder (train/, val/, test/ with one folder per class) or a Hub dataset id."}
    )
    cache_dir: str | None = field(default=None, metadata={"help": "Where datasets caches the image set."})
    validation_fraction: float = field(
        default=0.1, metadata={"help": "Share of train held out for validation when the set has none (0 to 1)."}
    )
    model_config: str = field(
        default=DEFAULT_CONFIG,
        metadata={"help": "EmoNeXt config: a folder with config.json, a JSON file or a Hub id."},
    )
    from_pretrained_backbone: bool = field(
        default=False, metadata={"help": "Start the ConvNeXt backbone from timm's ImageNet weights."}
    )
    imagenet_22k: bool = field(
        default=False,
        metadata={"help": "Use the ImageNet-22k weights of the config's ConvNeXt (timm's convnext_*.fb_in22k), as "
                          "the original's --in_22k."},
    )
    no_vertical_flip: bool = field(default=False, metadata={"help": "Leave out the paper's vertical flips."})
    normalize_pixels: bool = field(
        default=True, metadata={"help": "ImageNet mean and std on the pixels; false = raw [0, 1] pixels."}
    )
    ten_crop_test: bool = field(
        default=False, metadata={"help": "Score the test split on ten crops, averaging the logits."}
    )
    warm_restarts_every: int = field(
        default=0,
        metadata={"help": "The original's scheduler when > 0: linear warm-up over --warmup_steps to "
                          "--learning_rate, then a cosine to 0, restarting every this many steps (it replaces "
                          "--lr_scheduler_type)."},
    )
    ema_decay: float = field(default=0.99, metadata={"help": "Decay of the weight average."})
    ema_update_every: int = field(default=16, metadata={"help": "Optimizer steps between updates of the average."})
    ema_warmup_by: str = field(
        default="update",
        metadata={"help": "What the average's decay warm-up counts: its updates, or optimizer steps from step 100 "
                          "(the original's ema_pytorch).", "choices": ("update", "step")},
    )
    select_on_average: bool = field(
        default=True,
        metadata={"help": "Validate, select and save the weight average; false: validate the raw weights and score "
                          "the test split with the final average (the original)."},
    )


def recipe_defaults(recipe: str) -> dict:
    """This task's defaults for `--recipe` (see the module docstring)."""
    defaults = dict(
        num_train_epochs=300,
        learning_rate=1e-3,
        per_device_train_batch_size=64,
        per_device_eval_batch_size=64,
        weight_decay=0.01,
        lr_scheduler_type="cosine",
        warmup_steps=128,
        early_stopping_patience=12,
        metric_for_best_model="accuracy",
    )
    if recipe == "original":
        defaults.update(
            warm_restarts_every=1024,
            lr_scheduler_type="constant",  # replaced by the warm restarts
            imagenet_22k=True,
            normalize_pixels=False,
            ten_crop_test=True,
            ema_warmup_by="step",
            select_on_average=False,
            seed=ORIGINAL_SEED,
        )
    return defaults


def warm_restarts_lr(step: int, peak: float, warmup_steps: int, cycle_steps: int) -> float:
    """The original's learning rate for optimizer step `step` (1-based): within each `cycle_steps`, a linear rise to
    `peak` over `warmup_steps`, then a cosine to 0 (the step that starts a cycle has learning rate 0)."""
    position = step % cycle_steps
    if position < warmup_steps:
        return peak * position / warmup_steps
    progress = (position - warmup_steps) / (cycle_steps - warmup_steps)
    return peak * (1.0 + math.cos(math.pi * progress)) / 2.0


def _warm_restarts_factor(index: int, warmup_steps: int, cycle_steps: int) -> float:
    # LambdaLR's index counts finished optimizer steps, so the step about to run is index + 1.
    return warm_restarts_lr(index + 1, 1.0, warmup_steps, cycle_steps)


def ten_crop_logits(model: torch.nn.Module, pixel_values: torch.Tensor) -> torch.Tensor:
    """Logits of (B, 10, 3, S, S) ten-crop pixels: the crops' logits averaged per image, as the original tests."""
    batch, crops = pixel_values.shape[:2]
    logits = model(pixel_values=pixel_values.flatten(0, 1)).logits
    return logits.view(batch, crops, -1).mean(dim=1)


class EmoNeXtTrainer(EMATrainer):
    """The EMA trainer with the original's warm-restart scheduler and ten-crop evaluation when asked."""

    def __init__(self, *args, warm_restarts_every: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.warm_restarts_every = warm_restarts_every

    def create_scheduler(self, num_training_steps: int, optimizer=None):
        if self.warm_restarts_every > 0 and self.lr_scheduler is None:
            factor = partial(
                _warm_restarts_factor,
                warmup_steps=int(self.args.warmup_steps),
                cycle_steps=self.warm_restarts_every,
            )
            self.lr_scheduler = LambdaLR(optimizer or self.optimizer, factor)
            self._created_lr_scheduler = True
        return super().create_scheduler(num_training_steps, optimizer)

    def prediction_step(self, model, inputs, prediction_loss_only, ignore_keys=None):
        pixel_values = inputs.get("pixel_values")
        if pixel_values is None or pixel_values.dim() != 5:
            return super().prediction_step(model, inputs, prediction_loss_only, ignore_keys=ignore_keys)
        inputs = self._prepare_inputs(inputs)
        with torch.no_grad(), self.compute_loss_context_manager():
            logits = ten_crop_logits(model, inputs["pixel_values"])
        return None, logits, inputs.get("labels")


def compute_accuracy(prediction: EvalPrediction) -> dict[str, float]:
    """Accuracy, and the recall of each emotion present in the split (its per-class accuracy)."""
    logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
    predicted, labels = np.argmax(logits, axis=-1), np.asarray(prediction.label_ids)
    results = {"accuracy": float(np.mean(predicted == labels))}
    for index, name in enumerate(EMOTION_LABELS):
        if (labels == index).any():
            results[f"recall_{name}"] = float(np.mean(predicted[labels == index] == index))
    return results


def majority_class_accuracy(train_labels: list[int], labels: list[int]) -> float:
    """Accuracy of always predicting the training split's most frequent class: the class-prior baseline."""
    majority = np.bincount(train_labels).argmax()
    return float(np.mean(np.asarray(labels) == majority))


def imagenet_22k_name(backbone: str) -> str:
    """timm's ImageNet-22k weights of a ConvNeXt: `convnext_base.fb_in1k` → `convnext_base.fb_in22k`."""
    return backbone.split(".", 1)[0] + ".fb_in22k"


def build_model(args: EmoNeXtArguments, seed: int) -> EmoNeXtForImageClassification:
    """EmoNeXt from --model_config, with timm's ImageNet backbone when asked."""
    config = load_config(args.model_config, EmoNeXtConfig, "--model_config")
    config.use_pretrained_backbone = False  # loaded once, below; the saved config must not download again
    if args.imagenet_22k:
        config.backbone = imagenet_22k_name(config.backbone)
        if not timm.list_pretrained(config.backbone):
            raise TrainingInputError(
                f"--imagenet_22k: timm has no ImageNet-22k weights {config.backbone} (ConvNeXt tiny, small, base, "
                "large and xlarge have them); give --imagenet_22k false or another --model_config."
            )
    set_seed(seed)
    model = EmoNeXtForImageClassification(config)
    if args.from_pretrained_backbone:
        try:
            model.emonext.load_pretrained_backbone()
        except Exception as error:  # noqa: BLE001 - timm and the Hub raise many types; the user needs one sentence
            raise TrainingInputError(
                f"--from_pretrained_backbone: timm's ImageNet weights for {config.backbone} could not be loaded "
                f"({first_line(error)}); they must be downloadable or in the Hugging Face cache."
            ) from None
    return model


def build_trainer(args: EmoNeXtArguments, training_args: ProjectTrainingArguments) -> TrainerRun:
    """Loads the images and builds model and Trainer."""
    if not 0.0 < args.validation_fraction < 1.0:
        raise TrainingInputError(f"--validation_fraction {args.validation_fraction} is not between 0 and 1.")
    resume = prepare_output_dir(training_args)
    training_args.label_names = ["labels"]
    with training_args.main_process_first(desc="loading the image set"):
        images, mapping = load_image_set(args.dataset, args.validation_fraction, training_args.seed, args.cache_dir)
    model = build_model(args, training_args.seed)
    inputs = with_transforms(
        images, model.config.image_size, vertical_flip=not args.no_vertical_flip, normalize=args.normalize_pixels,
        ten_crop_test=args.ten_crop_test,
    )
    ema = WeightEMA(model, decay=args.ema_decay, update_every=args.ema_update_every, warmup_by=args.ema_warmup_by)
    ema.resume_from = resume
    trainer = EmoNeXtTrainer(
        model=model,
        args=training_args,
        train_dataset=inputs["train"],
        eval_dataset=inputs["validation"],
        data_collator=default_data_collator,
        compute_metrics=compute_accuracy,
        callbacks=early_stopping(training_args),
        ema=ema,
        evaluate_average=args.select_on_average,
        warm_restarts_every=args.warm_restarts_every,
    )
    trainer.inference_ignore_keys = ("embeddings", "attention_weights")
    train_labels = images["train"]["label"]

    def before_save() -> None:
        best = trainer.state.best_model_checkpoint
        if args.select_on_average and training_args.load_best_model_at_end and best:
            ema.use_average_of(Path(best))
        else:
            ema.use_average()  # the final average: what the original scores
        trainer.evaluate_average = False  # the model itself holds the average from now on

    def evaluate(section: str) -> Section | None:
        if section not in inputs:
            return None
        metrics = clean_metrics(trainer.evaluate(inputs[section], metric_key_prefix=section), section)
        baseline = {"accuracy": majority_class_accuracy(train_labels, images[section]["label"])}
        return Section(metrics, baseline, len(images[section]))

    info = {
        "dataset": str(args.dataset),
        "model_config": str(args.model_config),
        "backbone": model.config.backbone,
        "from_pretrained_backbone": args.from_pretrained_backbone,
        "class_mapping": mapping,
        "images": {split: len(images[split]) for split in images},
        "pixels": "imagenet-normalized" if args.normalize_pixels else "raw [0, 1]",
        "test_crops": TEN_CROPS if args.ten_crop_test else 1,
        "scheduler": {"warm_restarts_every": args.warm_restarts_every, "warmup_steps": training_args.warmup_steps}
        if args.warm_restarts_every else training_args.lr_scheduler_type.value,
        "ema": {"decay": args.ema_decay, "update_every": args.ema_update_every, "warmup_by": args.ema_warmup_by,
                "selected_and_saved": "best checkpoint's average" if args.select_on_average else "final average"},
    }
    return TrainerRun(trainer, resume, "emonext-base", ("validation", "test"), evaluate, info, before_save)


def parse(argv: list[str] | None = None) -> tuple[EmoNeXtArguments, ProjectTrainingArguments]:
    """The options, from the command line and/or a config file."""
    return parse_arguments(
        (EmoNeXtArguments, ProjectTrainingArguments),
        argv,
        recipe_defaults,
        prog="train_emonext.py",
        description="Fine-tune EmoNeXt on a facial-expression image set (FER2013 layout) with the paper's recipe.",
        epilog="Examples:" + __doc__.split("Examples:", 1)[1],
    )


def train(args: EmoNeXtArguments, training_args: ProjectTrainingArguments) -> dict:
    """Runs the whole training; returns what it wrote to eval_results.json."""
    run = build_trainer(args, training_args)
    run.trainer.train(resume_from_checkpoint=run.resume)
    return finish_run(run)


def main(argv: list[str] | None = None) -> int:
    return run_trainer("train_emonext.py", parse, train, argv)


if __name__ == "__main__":
    sys.exit(main())
