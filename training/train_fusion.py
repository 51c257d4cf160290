"""Train FaceFusion: the cross-attention fusion over a trained emotion transformer and a trained trait transformer.

The two trained transformers (`--emotion_model`, `--trait_model`: folders or Hub ids) are loaded, frozen and kept in
eval mode (no dropout) for the whole run; only the fusion encoders, the cross-attention, the shared MLP and the two
heads learn. Each epoch is one pass over both training tables (`--emotion_dataset`, CMU-MOSEI; `--trait_dataset`,
First Impressions V2) in shuffled batches that each come from one table: an emotion batch trains with the
class-weighted KL divergence (the emotion model's `class_weights`), a trait batch with the MSE. Every epoch both
validation splits are evaluated; the best epoch is the one with the best `combined_score`, the mean of the emotion
`mean_weighted_accuracy` and the trait `mean_ccc` (or `--trait_metric mean_accuracy`). The saved model also holds the
EmoNeXt embedder (`--embedder_model`), so that it goes from video to predictions: give the embedder that extracted
the tables. The defaults are the original's: Adam, learning rate 3e-4, batch 1024, 200 epochs, plus early stopping,
which it lacked. `--recipe original` keeps the original's training: all 200 epochs with the last one scored, no
gradient clipping, fp32 (the frozen parts stay in eval mode: the original's dropout in frozen parts was a defect).
Every `TrainingArguments` option works, and a JSON or YAML config file (`train_fusion.py run.yaml`).

Examples:

    accelerate launch training/train_fusion.py --emotion_dataset data/mosei_table --trait_dataset data/fiv2_table \\
        --emotion_model runs/mosei-emotions --trait_model runs/fiv2-traits --embedder_model org/emonext-base \\
        --output_dir runs/face-fusion

    accelerate launch training/train_fusion.py ... --output_dir runs/face-fusion --resume_from_checkpoint latest
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from datasets import DatasetDict
from torch.utils.data import DataLoader
from transformers import PreTrainedConfig, set_seed

from modeling import (
    EmoNeXtConfig,
    EmoNeXtModel,
    EmotionTransformerConfig,
    EmotionTransformerModel,
    FaceFusionConfig,
    FaceFusionModel,
    TraitTransformerConfig,
    TraitTransformerModel,
)
from training.cli import first_line
from training.sequence_inputs import (
    EMOTION_TARGET,
    TRAIT_TARGET,
    TaskBatchSampler,
    TwoTableDataset,
    model_inputs,
    stack_rows,
    table_shape,
)
from training.sequence_training import label_matrix, section_rows, sequence_recipe
from training.tables import load_training_table, table_provenance
from training.trainer_args import ProjectTrainingArguments, parse_arguments
from training.trainer_metrics import (
    COMBINED_METRIC,
    TRAIT_SELECTION_METRIC,
    TRAIT_SELECTION_METRICS,
    baseline_metrics,
    combined_score,
    compute_emotion_metrics,
    compute_trait_metrics,
)
from training.trainer_setup import (
    ProjectTrainer,
    Section,
    TrainerRun,
    TrainingInputError,
    clean_metrics,
    early_stopping,
    finish_run,
    load_config,
    load_trained_model,
    prepare_output_dir,
    run_trainer,
)

HUB_CONFIGS = Path(__file__).resolve().parent.parent / "hub_configs"
DEFAULT_CONFIG = str(HUB_CONFIGS / "face-fusion")
DEFAULT_EMBEDDER = str(HUB_CONFIGS / "emonext-base")
# Fusion settings taken from --model_config; the three parts come from the trained models.
FUSION_FIELDS = (
    "num_fusion_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_dropout_prob",
    "emotion_loss_weight",
    "trait_loss_weight",
    "initializer_range",
)
# Per table: the model's label argument, the output its metrics read, and the metrics.
TASKS = {
    EMOTION_TARGET: ("emotion_labels", "emotion_logits", compute_emotion_metrics),
    TRAIT_TARGET: ("trait_labels", "trait_logits", compute_trait_metrics),
}
OUTPUT_NAMES = ("emotion_logits", "emotion_probs", "trait_logits", "emotion_loss", "trait_loss", "frame_embeddings")


class FusionTrainer(ProjectTrainer):
    """`Trainer` over two tables: one-table training batches, and an evaluation of each table per epoch."""

    def __init__(self, *args, trait_metric: str = TRAIT_SELECTION_METRIC, **kwargs):
        super().__init__(*args, **kwargs)
        self.trait_metric = trait_metric

    def get_train_dataloader(self) -> DataLoader:
        """Batches from one table at a time (see `TaskBatchSampler`), sharded over the processes by Accelerate."""
        dataset: TwoTableDataset = self.train_dataset
        sampler = TaskBatchSampler(
            (len(dataset.tables[0]), len(dataset.tables[1])),
            batch_size=self._train_batch_size,
            seed=self.args.data_seed if self.args.data_seed is not None else self.args.seed,
            group_size=self.accelerator.num_processes,
        )
        loader = DataLoader(
            dataset,
            batch_sampler=sampler,
            collate_fn=self.data_collator,
            num_workers=self.args.dataloader_num_workers,
            pin_memory=self.args.dataloader_pin_memory,
        )
        return self.accelerator.prepare(loader)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, outputs = super().compute_loss(model, inputs, return_outputs=True, num_items_in_batch=num_items_in_batch)
        if model.training and self.args.world_size > 1:
            # DistributedDataParallel waits for a gradient of every parameter behind an output, but a batch trains
            # one head only: a zero-weighted term gives the other head a zero gradient.
            loss = loss + 0.0 * (outputs.emotion_logits.float().sum() + outputs.trait_logits.float().sum())
        return (loss, outputs) if return_outputs else loss

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval") -> dict[str, float]:
        """Evaluates each table with its own labels and metrics, then adds the combined score of the two."""
        tables: dict = eval_dataset if eval_dataset is not None else self.eval_dataset
        metrics: dict[str, float] = {}
        for task, table in tables.items():
            label_name, output_name, compute = TASKS[task]
            self.label_names, self.compute_metrics = [label_name], compute
            output = self.evaluation_loop(
                self.get_eval_dataloader(table),
                description=f"Evaluation ({task})",
                ignore_keys=[name for name in OUTPUT_NAMES if name != output_name],
                metric_key_prefix=f"{metric_key_prefix}_{task}",
            )
            metrics.update(output.metrics)
        if len(tables) == 2:
            metrics[f"{metric_key_prefix}_{COMBINED_METRIC}"] = combined_score(
                task_metrics(metrics, metric_key_prefix, EMOTION_TARGET),
                task_metrics(metrics, metric_key_prefix, TRAIT_TARGET),
                self.trait_metric,
            )
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        return metrics


def task_metrics(metrics: dict[str, float], prefix: str, task: str) -> dict[str, float]:
    """One table's metrics out of the merged dict, without prefixes or speed counters."""
    return clean_metrics({k: v for k, v in metrics.items() if k.startswith(f"{prefix}_{task}_")}, f"{prefix}_{task}")


# ---------------------------------------------------------------------------------------------------------------
# Parts


def load_embedder(source: str, seed: int) -> EmoNeXtModel:
    """The EmoNeXt embedder, loaded exactly as the extraction loads it (weights, a FaceFusion's embedder, or a
    config built with `seed`), so that the saved fusion model embeds videos as the training tables were embedded."""
    from training.extract_embeddings import ExtractionError
    from training.extract_embeddings import load_embedder as load_extraction_embedder

    path = Path(source)
    config_only = path.suffix == ".json" or (
        path.is_dir() and not any(path.glob("*.safetensors")) and not any(path.glob("*.bin"))
    )
    try:
        if config_only:
            embedder = load_extraction_embedder(model_config=source, seed=seed)
        else:
            embedder = load_extraction_embedder(model=source)
    except ExtractionError as error:
        raise TrainingInputError(f"--embedder_model {source}: {error}") from None
    embedder.config.use_pretrained_backbone = False  # its weights are in the fusion checkpoint from now on
    return embedder


def embedder_size(source: str) -> int:
    """The embedding size of the embedder at `source` (an EmoNeXt, or a FaceFusion's embedder), from its config."""
    try:
        values, _ = PreTrainedConfig.get_config_dict(str(source))
    except (OSError, ValueError) as error:
        raise TrainingInputError(
            f"--embedder_model {source}: no readable model configuration ({first_line(error)})."
        ) from None
    if values.get("model_type") == FaceFusionConfig.model_type:
        values = values.get("embedder_config") or {}
    if values.get("model_type") != EmoNeXtConfig.model_type:
        raise TrainingInputError(f"--embedder_model {source}: not an EmoNeXt or a FaceFusion model.")
    return EmoNeXtConfig.from_dict(values).hidden_size


def check_parts_fit_tables(part_configs: dict, tables: dict[str, DatasetDict], embedding_size: int) -> None:
    """Stops when a part cannot read a table: another embedding size, or more frames than it has positions for.

    Checked on the configs, before any weights are loaded.
    """
    dims = {name: table_shape(table)[1] for name, table in tables.items()}
    if len(set(dims.values())) > 1:
        raise TrainingInputError(
            f"--emotion_dataset holds {dims[EMOTION_TARGET]}-d embeddings but --trait_dataset {dims[TRAIT_TARGET]}-d "
            "ones; both must come from the same embedder."
        )
    dim = dims[EMOTION_TARGET]
    if embedding_size != dim:
        raise TrainingInputError(
            f"--embedder_model gives {embedding_size}-d embeddings, but the tables hold {dim}-d ones."
        )
    for option, config in part_configs.items():
        if config.embedding_dim != dim:
            raise TrainingInputError(
                f"{option} expects {config.embedding_dim}-d embeddings, but the tables hold {dim}-d ones."
            )
        for name, table in tables.items():
            num_frames = table_shape(table)[0]
            if num_frames > config.max_frames:
                raise TrainingInputError(
                    f"{option} has positions for {config.max_frames} frames, but the {name} table holds "
                    f"{num_frames}-frame sequences."
                )


def build_model(args: FusionArguments, tables: dict[str, DatasetDict], seed: int) -> tuple[FaceFusionModel, dict]:
    """Checks the trained parts against the tables, loads them, and assembles the fusion model."""
    part_configs = {
        "--emotion_model": load_config(args.emotion_model, EmotionTransformerConfig, "--emotion_model"),
        "--trait_model": load_config(args.trait_model, TraitTransformerConfig, "--trait_model"),
    }
    check_parts_fit_tables(part_configs, tables, embedder_size(args.embedder_model))
    fusion_config = load_config(args.model_config, FaceFusionConfig, "--model_config")
    fusion_settings = {name: getattr(fusion_config, name) for name in FUSION_FIELDS}

    emotion_model = load_trained_model(args.emotion_model, EmotionTransformerModel, "--emotion_model")
    trait_model = load_trained_model(args.trait_model, TraitTransformerModel, "--trait_model")
    embedder = load_embedder(args.embedder_model, args.embedder_seed)
    set_seed(seed)
    try:
        model = FaceFusionModel.from_parts(embedder, emotion_model, trait_model, **fusion_settings)
    except ValueError as error:
        raise TrainingInputError(f"the trained parts cannot be fused: {error}") from None
    from training.extract_embeddings import weights_fingerprint

    info = {
        "emotion_model": str(args.emotion_model),
        "trait_model": str(args.trait_model),
        "embedder_model": str(args.embedder_model),
        "embedder_weights_sha256": weights_fingerprint(model.embedder),
        "fusion_settings": fusion_settings,
    }
    return model, info


# ---------------------------------------------------------------------------------------------------------------
# Run


def build_trainer(args: FusionArguments, training_args: ProjectTrainingArguments) -> TrainerRun:
    """Loads tables and parts and builds the Trainer."""
    resume = prepare_output_dir(training_args)
    training_args.label_names = ["emotion_labels", "trait_labels"]
    with training_args.main_process_first(desc="loading the training tables"):
        tables = {
            EMOTION_TARGET: load_training_table(args.emotion_dataset, EMOTION_TARGET),
            TRAIT_TARGET: load_training_table(args.trait_dataset, TRAIT_TARGET),
        }
    model, info = build_model(args, tables, training_args.seed)
    trainer = FusionTrainer(
        model=model,
        args=training_args,
        train_dataset=TwoTableDataset(
            fusion_inputs(tables, EMOTION_TARGET, "train"), fusion_inputs(tables, TRAIT_TARGET, "train")
        ),
        eval_dataset={task: fusion_inputs(tables, task, "validation") for task in tables},
        data_collator=stack_rows,
        callbacks=early_stopping(training_args),
        trait_metric=args.trait_metric,
    )

    def evaluate(section: str) -> Section | None:
        rows = {task: section_rows(table, section) for task, table in tables.items()}
        rows = {task: split for task, split in rows.items() if split is not None and len(split) > 0}
        if not rows:
            return None
        inputs = {task: model_inputs(split, task, TASKS[task][0]) for task, split in rows.items()}
        metrics = split_results(trainer.evaluate(inputs, metric_key_prefix=section), section, inputs)
        baseline = {
            task: baseline_metrics(task, label_matrix(tables[task], "train", task), label_matrix(split, None, task))
            for task, split in rows.items()
        }
        return Section(metrics, baseline, {task: len(split) for task, split in rows.items()})

    info.update(
        emotion_dataset=str(args.emotion_dataset),
        trait_dataset=str(args.trait_dataset),
        rows={task: {split: len(table[split]) for split in table} for task, table in tables.items()},
        trait_metric=args.trait_metric,
        table={task: table_provenance(table) for task, table in tables.items()},
    )
    sections = ("validation", "test", "test_original_population")
    return TrainerRun(trainer, resume, "face-fusion", sections, evaluate, info)


def fusion_inputs(tables: dict[str, DatasetDict], task: str, split: str):
    """One table's split as the fusion model's inputs (its labels under the task's label argument)."""
    return model_inputs(tables[task][split], task, TASKS[task][0])


def split_results(metrics: dict[str, float], prefix: str, tasks) -> dict:
    """{task: metrics, combined_score} from the merged evaluation metrics."""
    results = {task: task_metrics(metrics, prefix, task) for task in tasks}
    if f"{prefix}_{COMBINED_METRIC}" in metrics:
        results[COMBINED_METRIC] = metrics[f"{prefix}_{COMBINED_METRIC}"]
    return results


@dataclass
class FusionArguments:
    """The two tables, the trained parts and the fusion settings."""

    emotion_dataset: str = field(metadata={"help": "Emotion training table (CMU-MOSEI)."})
    trait_dataset: str = field(metadata={"help": "Trait training table (FIV2)."})
    emotion_model: str = field(
        metadata={"help": "Trained emotion transformer (train_emotion.py's --output_dir, or a Hub id)."}
    )
    trait_model: str = field(
        metadata={"help": "Trained trait transformer (train_traits.py's --output_dir, or a Hub id)."}
    )
    embedder_model: str = field(
        default=DEFAULT_EMBEDDER,
        metadata={"help": "The EmoNeXt that extracted the tables: a checkpoint folder or Hub id, or a config (folder "
                          "without weights or .json) built as extract_embeddings.py builds it (the default has no "
                          "trained weights)."},
    )
    embedder_seed: int = field(
        default=0, metadata={"help": "Seed of an embedder built from a config: extract_embeddings.py's --seed."}
    )
    model_config: str = field(
        default=DEFAULT_CONFIG,
        metadata={"help": "FaceFusion config whose fusion settings (layers, heads, widths, dropout, loss weights) are "
                          "used; the parts' configs come from the trained models."},
    )
    trait_metric: str = field(
        default=TRAIT_SELECTION_METRIC,
        metadata={"help": "Trait metric in the combined selection score.", "choices": TRAIT_SELECTION_METRICS},
    )


def recipe_defaults(recipe: str) -> dict:
    """This task's defaults for `--recipe` (see the module docstring)."""
    return sequence_recipe(recipe, 200, 3e-4, 1024, COMBINED_METRIC)


def parse(argv: list[str] | None = None) -> tuple[FusionArguments, ProjectTrainingArguments]:
    """The options, from the command line and/or a config file."""
    return parse_arguments(
        (FusionArguments, ProjectTrainingArguments),
        argv,
        recipe_defaults,
        prog="train_fusion.py",
        description="Train the FaceFusion model (emotions and traits together) over a trained emotion transformer "
                    "and a trained trait transformer, on a CMU-MOSEI and a First Impressions V2 training table.",
        epilog="Examples:" + __doc__.split("Examples:", 1)[1],
    )


def train(args: FusionArguments, training_args: ProjectTrainingArguments) -> dict:
    """Runs the whole training; returns what it wrote to eval_results.json."""
    run = build_trainer(args, training_args)
    run.trainer.train(resume_from_checkpoint=run.resume)
    return finish_run(run)


def main(argv: list[str] | None = None) -> int:
    return run_trainer("train_fusion.py", parse, train, argv)


if __name__ == "__main__":
    sys.exit(main())
