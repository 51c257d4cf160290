"""The results table: every metric beside the trivial baseline's on the same rows, with the row counts, the recipe
and the table's provenance, the same in the model card."""

from training.model_card import EMOTION_TASK, TRAIT_TASK, EvalResults
from training.results_table import results_markdown

SEQUENCE_RESULTS = {
    "recipe": "original",
    "validation": {"mean_f1": 0.51, "mean_weighted_accuracy": 0.56},
    "test": {"mean_f1": 0.54, "mean_weighted_accuracy": 0.57},
    "test_original_population": {"mean_f1": 0.55, "mean_weighted_accuracy": 0.58},
    "baseline": {
        "validation": {"mean_f1": 0.44, "mean_weighted_accuracy": 0.5},
        "test": {"mean_f1": 0.447, "mean_weighted_accuracy": 0.5},
        "test_original_population": {"mean_f1": 0.449, "mean_weighted_accuracy": 0.5},
    },
    "rows": {"validation": 1871, "test": 4662, "test_original_population": 4100},
    "run": {"table": {"precision": "fp32", "embedder_weights_sha256": "ab12"}},
}


def test_each_metric_stands_beside_its_baseline_with_the_row_counts():
    table = results_markdown(SEQUENCE_RESULTS)
    assert "Training recipe: `original`." in table
    assert "precision `fp32`" in table and "embedder_weights_sha256 `ab12`" in table
    assert "**test split, all clips** (4662 rows)" in table
    assert "(4100 rows)" in table and "(1871 rows)" in table
    assert "| `mean_f1` | 0.5400 | 0.4470 |" in table
    assert "| `mean_f1` | 0.5500 | 0.4490 |" in table  # the original's population, its own baseline
    assert table.index("all clips") < table.index("the clips the original kept") < table.index("validation split")


def test_fusion_results_are_listed_per_task():
    results = {
        "recipe": "improved",
        "test": {"emotions": {"mean_f1": 0.6}, "traits": {"mean_ccc": 0.4}, "combined_score": 0.5},
        "baseline": {"test": {"emotions": {"mean_f1": 0.45}, "traits": {"mean_ccc": 0.0}}},
        "rows": {"test": {"emotions": 40, "traits": 30}},
        "run": {"table": {"emotions": {"precision": "bf16", "embedder_weights_sha256": None}, "traits": None}},
    }
    table = results_markdown(results)
    assert "| `emotions/mean_f1` | 0.6000 | 0.4500 |" in table
    assert "| `traits/mean_ccc` | 0.4000 | 0.0000 |" in table
    assert "| `combined_score` | 0.5000 |  |" in table
    assert "(emotions 40, traits 30 rows)" in table and "emotions: precision `bf16`" in table


def test_the_model_card_shows_the_same_table():
    card = EvalResults.from_dict(SEQUENCE_RESULTS).markdown((EMOTION_TASK,))
    assert results_markdown(SEQUENCE_RESULTS) in card
    # Files without baselines (written by other tools) keep the card's own listing.
    plain = EvalResults.from_dict({"test": {"mean_ccc": 0.3}}).markdown((TRAIT_TASK,))
    assert "All metrics measured on the test split" in plain
