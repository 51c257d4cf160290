"""`--recipe original|improved` on every trainer, the original's schedule, weight average and ten-crop test, the
trainers' options from the command line or a config file, and the two test populations in eval_results.json."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from modeling import EmoNeXtForImageClassification
from tests.training.synthetic import one_torch_thread
from training import train_emonext, train_emotion, train_fusion, train_traits
from training.ema import WeightEMA
from training.fer_images import image_transforms
from training.testing.synthetic import make_table, save_table
from training.testing.tiny_configs import tiny_emonext_config, tiny_emotion_config
from training.trainer_setup import EVAL_RESULTS

SEQUENCE_TRAINERS = {
    train_emotion: ["--dataset", "table"],
    train_traits: ["--dataset", "table"],
    train_fusion: ["--emotion_dataset", "e", "--trait_dataset", "t", "--emotion_model", "m", "--trait_model", "n"],
}


def test_original_recipe_sets_each_setting_of_the_sequence_trainers(tmp_path):
    epochs = {train_emotion: 120, train_traits: 100, train_fusion: 200}
    for trainer, required in SEQUENCE_TRAINERS.items():
        base = [*required, "--output_dir", str(tmp_path / "run")]
        _, improved = trainer.parse(base)
        task, original = trainer.parse([*base, "--recipe", "original"])
        assert (improved.recipe, original.recipe) == ("improved", "original")
        # Improved: the best validation epoch, early stopping, clipping at 1.0.
        assert improved.load_best_model_at_end and improved.early_stopping_patience == 15
        assert improved.max_grad_norm == 1.0
        # Original: a fixed number of epochs scored at the last, no early stopping, no clipping, fp32.
        assert not original.load_best_model_at_end and original.early_stopping_patience == 0
        assert original.max_grad_norm == 0.0 and original.bf16 is False and original.bf16_full_eval is False
        assert improved.num_train_epochs == original.num_train_epochs == epochs[trainer]
    args, _ = train_emotion.parse(["--dataset", "t", "--output_dir", str(tmp_path), "--recipe", "original"])
    assert train_emotion.parse_class_weights(args.class_weights) == [3, 10, 13, 20, 2, 15, 18]
    args, _ = train_emotion.parse(["--dataset", "t", "--output_dir", str(tmp_path)])
    assert args.class_weights == "auto"


def test_original_recipe_sets_each_setting_of_emonext(tmp_path):
    base = ["--dataset", "images", "--output_dir", str(tmp_path / "run")]
    improved_args, improved = train_emonext.parse(base)
    args, original = train_emonext.parse([*base, "--recipe", "original"])
    assert (args.warm_restarts_every, original.warmup_steps, original.learning_rate) == (1024, 128, 1e-3)
    assert args.imagenet_22k and not args.normalize_pixels and args.ten_crop_test
    assert args.ema_warmup_by == "step" and not args.select_on_average and original.seed == 2001
    assert original.max_grad_norm == 1.0 and original.early_stopping_patience == 12  # the original has both
    assert train_emonext.imagenet_22k_name("convnext_base.fb_in1k") == "convnext_base.fb_in22k"
    # Improved stays today's recipe.
    assert (improved_args.warm_restarts_every, improved_args.ema_warmup_by, improved.lr_scheduler_type.value) == (
        0, "update", "cosine")
    assert improved_args.normalize_pixels and not improved_args.ten_crop_test and not improved_args.imagenet_22k


def test_explicit_options_and_config_files_override_the_recipe(tmp_path):
    base = ["--dataset", "table", "--output_dir", str(tmp_path / "run")]
    _, explicit = train_emotion.parse([*base, "--recipe", "original", "--num_train_epochs", "3", "--max_grad_norm",
                                       "0.5", "--bf16", "false", "--warmup_steps", "7"])
    assert (explicit.num_train_epochs, explicit.max_grad_norm, explicit.warmup_steps) == (3, 0.5, 7)
    assert explicit.bf16 is False  # --bf16 is TrainingArguments' bool
    (tmp_path / "run.yaml").write_text("dataset: table\noutput_dir: out\nrecipe: original\nlearning_rate: 0.01\n")
    args, from_yaml = train_traits.parse([str(tmp_path / "run.yaml")])
    assert (args.dataset, from_yaml.output_dir, from_yaml.learning_rate) == ("table", "out", 0.01)
    assert from_yaml.recipe == "original" and not from_yaml.load_best_model_at_end
    (tmp_path / "run.json").write_text(json.dumps({"dataset": "table", "output_dir": "out", "seed": 5}))
    _, from_json = train_traits.parse(["--config", str(tmp_path / "run.json"), "--seed", "6"])
    assert from_json.seed == 6 and from_json.recipe == "improved"  # the command line wins over the file


def test_bad_config_file_is_one_line(tmp_path, capsys):
    (tmp_path / "run.yaml").write_text("dataset: table\noutput_dir: out\nnot_an_option: 1\n")
    with pytest.raises(SystemExit) as caught:
        train_traits.parse([str(tmp_path / "run.yaml")])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown option(s): not_an_option" in err


def test_original_schedule_values_at_chosen_steps(tmp_path):
    _, training_args = train_emonext.parse(
        ["--dataset", "x", "--output_dir", str(tmp_path), "--recipe", "original", "--report_to", "none",
         "--eval_strategy", "no", "--save_strategy", "no"]
    )
    model = torch.nn.Linear(2, 2)
    trainer = train_emonext.EmoNeXtTrainer(
        model=model, args=training_args, ema=WeightEMA(model), warm_restarts_every=1024
    )
    trainer.create_optimizer()
    trainer.create_scheduler(num_training_steps=5000)
    used = {}  # learning rate of optimizer step k (1-based)
    for step in range(1, 2050):
        used[step] = trainer.optimizer.param_groups[0]["lr"]
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
    # A linear rise over 128 steps to 1e-3 (it ignores --learning_rate's place), then a cosine to 0 at step 1024,
    # where the cycle restarts.
    expected = {1: 1e-3 / 128, 64: 5e-4, 128: 1e-3, 576: 5e-4, 1024: 0.0, 1025: 1e-3 / 128, 1152: 1e-3, 2048: 0.0}
    for step, value in expected.items():
        assert used[step] == pytest.approx(value, abs=1e-12), step
    assert used[300] < used[200] < used[129]  # decreasing after the warm-up


def _decays(warmup_by: str, steps: int) -> dict[int, float]:
    """The decay the average used at each update, measured on a weight that equals the step number."""
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    ema = WeightEMA(model, decay=0.99, update_every=16, warmup_by=warmup_by)
    ema.on_train_begin(None, None, None)
    decays = {}
    for step in range(1, steps + 1):
        with torch.no_grad():
            model.weight.fill_(float(step))
        before = ema.average.module.weight.item()
        ema.on_step_end(None, type("State", (), {"global_step": step})(), None)
        after = ema.average.module.weight.item()
        if after != before:
            decays[step] = (step - after) / (step - before)  # after = d * before + (1 - d) * step
    return decays


def test_weight_average_decay_at_chosen_steps():
    # The original (ema_pytorch): updates at steps 1, 17, 33, ...; a copy until step 100; then
    # 1 - (1 + step - 101)^(-2/3), capped at 0.99.
    original = _decays("step", 2000)
    assert list(original)[:3] == [1, 17, 33]
    assert original[97] == pytest.approx(0.0)
    assert original[113] == pytest.approx(1 - 13 ** (-2 / 3), abs=1e-5)  # 0.819
    assert original[449] == pytest.approx(0.980, abs=5e-4)  # one FER2013 epoch of batch 64
    assert original[1985] == pytest.approx(0.99)
    # This project's: updates at steps 16, 32, ...; the n-th update has 1 - (1 + n)^(-2/3).
    improved = _decays("update", 460)
    assert list(improved)[:2] == [16, 32]
    assert improved[16] == pytest.approx(1 - 2 ** (-2 / 3), abs=1e-5)
    assert improved[448] == pytest.approx(0.894, abs=5e-4)  # 28 updates


def test_ten_crop_evaluation_is_the_mean_of_the_crops_logits():
    torch.manual_seed(0)
    model = EmoNeXtForImageClassification(tiny_emonext_config()).eval()
    size = model.config.image_size
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (48, 48), dtype=np.uint8)).convert("RGB") for _ in range(2)]
    ten_crop = image_transforms(size, train=False, normalize=False, ten_crop=True)
    pixels = torch.stack([ten_crop(image) for image in images])
    assert pixels.shape == (2, 10, 3, size, size)
    # The fifth crop is the center crop of the same resize; raw [0, 1] pixels.
    center = image_transforms(size, train=False, normalize=False)(images[0])
    assert torch.equal(pixels[0, 4], center) and 0.0 <= pixels.min() and pixels.max() <= 1.0
    with torch.no_grad():
        averaged = train_emonext.ten_crop_logits(model, pixels)
        one_by_one = torch.stack(
            [torch.stack([model(pixel_values=crop[None]).logits[0] for crop in crops]).mean(0) for crops in pixels]
        )
    assert torch.allclose(averaged, one_by_one, atol=1e-5)


def test_emotion_run_reports_both_test_populations_beside_the_baseline(tmp_path):
    table = make_table("emotions", seed=3, sizes={"train": 96, "validation": 32, "test": 40})
    masks = np.asarray(table["test"]["attention_mask"])
    masks[:15] = np.roll(masks[:15], 1, axis=1)  # 15 test clips whose face appears after the first frame
    masks[:15, 0] = 0
    table["test"] = table["test"].remove_columns("attention_mask").add_column(
        "attention_mask", masks.tolist(), feature=table["test"].features["attention_mask"]
    )
    save_table(table, tmp_path / "table")
    tiny_emotion_config().save_pretrained(tmp_path / "config")
    argv = ["--dataset", str(tmp_path / "table"), "--model_config", str(tmp_path / "config"), "--output_dir",
            str(tmp_path / "run"), "--recipe", "original", "--num_train_epochs", "2", "--report_to", "none",
            "--per_device_train_batch_size", "32"]
    with one_torch_thread():
        assert train_emotion.main(argv) == 0
    results = json.loads((tmp_path / "run" / EVAL_RESULTS).read_text())
    assert results["recipe"] == "original"
    assert results["rows"] == {"validation": 32, "test": 40, "test_original_population": 25}
    assert results["run"]["selection"] == "last epoch" and results["run"]["max_grad_norm"] == 0.0
    assert results["run"]["class_weights"]["weights"] == [3, 10, 13, 20, 2, 15, 18]
    assert set(results["run"]["table"]) == {"precision", "embedder_weights_sha256"}  # what made the embeddings
    for section in ("validation", "test", "test_original_population"):
        assert set(results["baseline"][section]) <= set(results[section])  # every baseline number has its metric
    assert results["test"]["mean_f1"] != results["test_original_population"]["mean_f1"]


def test_a_backbone_without_imagenet_22k_weights_is_one_sentence(tmp_path):
    from training.trainer_setup import TrainingInputError

    tiny_emonext_config().save_pretrained(tmp_path / "atto")  # convnext_atto: timm has no ImageNet-22k weights
    args, training_args = train_emonext.parse(
        ["--dataset", "x", "--output_dir", str(tmp_path / "run"), "--model_config", str(tmp_path / "atto"),
         "--recipe", "original"]
    )
    with pytest.raises(TrainingInputError, match=r"no ImageNet-22k weights convnext_atto.fb_in22k"):
        train_emonext.build_model(args, training_args.seed)
    args.model_config = str(tmp_path / "tiny")
    tiny_emonext_config(backbone="convnext_tiny.fb_in1k").save_pretrained(tmp_path / "tiny")
    assert train_emonext.build_model(args, training_args.seed).config.backbone == "convnext_tiny.fb_in22k"
