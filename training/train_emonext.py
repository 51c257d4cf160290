"""Fine-tune EmoNeXt for facial expression recognition, so that the embedder the extraction uses knows emotions.

The recipe is EmoNeXt's (El Boudouri & Bohi, MMSP 2023; github.com/yelboudouri/EmoNeXt `train.py`):

* data: an image folder or Hub dataset with FER2013's layout (`train/`, `val/` or `validation/`, `test/`, one
  folder per class; `--validation_fraction` of train is held out when there is no validation split). Class names
  map onto the project's seven emotions (see `training/fer_images.py`);
* augmentations: horizontal and vertical flips, resize to 236/224 of the input, rotation up to 20°, random crop;
  RGB with the ImageNet mean and std, exactly what the extraction's processor feeds the model;
* loss: cross-entropy with label smoothing 0.2 plus the self-attention regulariser (both inside
  `EmoNeXtForImageClassification`, weights in its config);
* optimiser: AdamW, weight decay 0.01, peak learning rate 1e-3 reached by a linear warm-up over 128 steps, then a
  cosine decay (the original restarts the cosine every 1024 steps; `--lr_scheduler_type cosine_with_restarts` comes
  closest), gradient clipping at 1.0, batch 64;
* an exponential moving average of the weights (decay 0.99, updated every 16 steps), which is what is evaluated,
  selected and saved;
* early stopping on validation accuracy with patience 12, up to 300 epochs.

Start from ImageNet with `--from_pretrained_backbone` (timm's weights for `backbone` in the config; they must be
downloadable or in the Hugging Face cache). The saved model (`EmoNeXtForImageClassification`) loads as the embedder
with `AutoModel.from_pretrained` or `extract_embeddings.py --model`. The original tests with ten crops; this script
reports the single center crop.

Examples:

    accelerate launch training/train_emonext.py --dataset data/fer2013 --output_dir runs/emonext-base \\
        --from_pretrained_backbone

    accelerate launch training/train_emonext.py --dataset data/fer2013 --output_dir runs/emonext-tiny \\
        --model_config configs/emonext-tiny.json --from_pretrained_backbone --bf16 yes
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from transformers import EarlyStoppingCallback, EvalPrediction, default_data_collator, set_seed

from modeling import EMOTION_LABELS, EmoNeXtConfig, EmoNeXtForImageClassification
from training.cli import ArgumentParser, first_line
from training.ema import EMATrainer, WeightEMA
from training.fer_images import load_image_set, with_transforms
from training.trainer_setup import (
    TrainingInputError,
    add_training_options,
    clean_metrics,
    early_stopping,
    load_config,
    prepare_output_dir,
    push_to_hub,
    run_summary,
    run_trainer,
    save_best_model,
    training_arguments,
    write_eval_results,
)

HUB_CONFIGS = Path(__file__).resolve().parent.parent / "hub_configs"
DEFAULT_CONFIG = str(HUB_CONFIGS / "emonext-base")


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


def build_model(args: argparse.Namespace) -> EmoNeXtForImageClassification:
    """EmoNeXt from --model_config, with timm's ImageNet backbone when asked."""
    config = load_config(args.model_config, EmoNeXtConfig, "--model_config")
    config.use_pretrained_backbone = False  # loaded once, below; the saved config must not download again
    set_seed(args.seed)
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


def build_trainer(args: argparse.Namespace):
    """Loads the images and builds model and Trainer. Returns (trainer, image splits, class mapping)."""
    resume = prepare_output_dir(args)
    training_args = training_arguments(args, metric_for_best_model="accuracy", label_names=["labels"])
    with training_args.main_process_first(desc="loading the image set"):
        images, mapping = load_image_set(args.dataset, args.validation_fraction, args.seed, args.cache_dir)
    model = build_model(args)
    inputs = with_transforms(images, model.config.image_size, vertical_flip=not args.no_vertical_flip)
    ema = WeightEMA(model, decay=args.ema_decay, update_every=args.ema_update_every)
    ema.resume_from = resume
    trainer = EMATrainer(
        model=model,
        args=training_args,
        train_dataset=inputs["train"],
        eval_dataset=inputs["validation"],
        data_collator=default_data_collator,
        compute_metrics=compute_accuracy,
        callbacks=early_stopping(args),
        ema=ema,
    )
    trainer.inference_ignore_keys = ("embeddings", "attention_weights")
    return trainer, inputs, images, mapping, resume


def train(args: argparse.Namespace) -> dict:
    """Runs the whole training; returns what it wrote to eval_results.json."""
    trainer, inputs, images, mapping, resume = build_trainer(args)
    trainer.train(resume_from_checkpoint=resume)
    trainer.remove_callback(EarlyStoppingCallback)
    if trainer.state.best_model_checkpoint:
        trainer.ema.use_average_of(Path(trainer.state.best_model_checkpoint))
    save_best_model(trainer, Path(args.output_dir))  # the best checkpoint's weight average

    train_labels = images["train"]["label"]
    results: dict = {}
    for split in ("validation", "test"):
        if split not in inputs:
            results[split] = None
            continue
        results[split] = clean_metrics(trainer.evaluate(inputs[split], metric_key_prefix=split), split)
        results.setdefault("baseline", {})[split] = {
            "accuracy": majority_class_accuracy(train_labels, images[split]["label"])
        }
    results["run"] = {
        **run_summary(trainer),
        "dataset": str(args.dataset),
        "model_config": str(args.model_config),
        "from_pretrained_backbone": args.from_pretrained_backbone,
        "class_mapping": mapping,
        "images": {split: len(images[split]) for split in images},
        "ema": {"decay": args.ema_decay, "update_every": args.ema_update_every},
    }
    write_eval_results(trainer, Path(args.output_dir), results)
    push_to_hub(trainer, args, "emonext-base")
    return results


def fraction(value: str) -> float:
    """argparse type: a number strictly between 0 and 1."""
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 < number < 1.0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a fraction between 0 and 1")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="train_emonext.py",
        description="Fine-tune EmoNeXt on a facial-expression image set (FER2013 layout) with the paper's recipe.",
        epilog="Examples:" + __doc__.split("Examples:", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", required=True, metavar="PATH|ID",
                        help="Image folder (train/, val/, test/ with one folder per class) or a Hub dataset id.")
    parser.add_argument("--cache_dir", metavar="DIR", help="Where datasets caches the image set (default: its cache).")
    parser.add_argument("--validation_fraction", type=fraction, default=0.1,
                        help="Share of train held out for validation when the set has none (default: 0.1).")
    model = parser.add_argument_group("model")
    model.add_argument("--model_config", default=DEFAULT_CONFIG, metavar="PATH|ID",
                       help="EmoNeXt config: a folder with config.json, a JSON file or a Hub id "
                            "(default: %(default)s).")
    model.add_argument("--from_pretrained_backbone", action="store_true",
                       help="Start the ConvNeXt backbone from timm's ImageNet weights.")
    recipe = parser.add_argument_group("recipe")
    recipe.add_argument("--no_vertical_flip", action="store_true", help="Leave out the paper's vertical flips.")
    recipe.add_argument("--ema_decay", type=float, default=0.99, help="Decay of the weight average (default: 0.99).")
    recipe.add_argument("--ema_update_every", type=int, default=16,
                        help="Optimizer steps between updates of the average (default: 16).")
    add_training_options(
        parser, num_train_epochs=300, learning_rate=1e-3, batch_size=64, early_stopping_patience=12,
        weight_decay=0.01, lr_scheduler_type="cosine", warmup_steps=128,
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_trainer("train_emonext.py", build_parser(), train, argv)


if __name__ == "__main__":
    sys.exit(main())
