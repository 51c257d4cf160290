"""The face-sequence transformers (emotion and trait checkpoints of one family) on tiny configs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModel

from modeling import (
    EmotionTransformerConfig,
    EmotionTransformerModel,
    FaceTransformerOutput,
    TraitTransformerConfig,
    TraitTransformerModel,
)
from tests.models.remote_code import RemoteCase
from training.testing.tiny_configs import EMBEDDING_DIM, NUM_FRAMES, tiny_emotion_config, tiny_trait_config

EMOTIONS = ("neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise")
TRAITS = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")
HIDDEN_SIZE = 16  # tiny_configs' transformer width


class FaceTransformerModelTester:
    """Builds tiny emotion/trait transformers and batches of frame embeddings, masks and labels."""

    batch_size = 3
    families = {
        "emotion": (EmotionTransformerModel, tiny_emotion_config, 7),
        "trait": (TraitTransformerModel, tiny_trait_config, 5),
    }

    def build(self, family: str, seed: int = 0, **overrides):
        model_class, make_config, _ = self.families[family]
        torch.manual_seed(seed)
        return model_class(make_config(**overrides)).eval()

    def num_labels(self, family: str) -> int:
        return self.families[family][2]

    def prepare_embeddings(self, seed: int = 0) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(self.batch_size, NUM_FRAMES, EMBEDDING_DIM, generator=generator)

    def prepare_attention_mask(self) -> torch.Tensor:
        """Row 0: every frame a face; row 1: gaps at frames 1 and 4; row 2: no face at all."""
        mask = torch.ones(self.batch_size, NUM_FRAMES, dtype=torch.long)
        mask[1, [1, 4]] = 0
        mask[2] = 0
        return mask

    def prepare_labels(self, family: str, seed: int = 0) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        if family == "trait":
            return torch.rand(self.batch_size, 5, generator=generator)
        distribution = torch.rand(self.batch_size, 7, generator=generator)
        distribution[0, [1, 2]] = 0.0  # zero targets must be handled (their KL terms vanish)
        return distribution / distribution.sum(-1, keepdim=True)


@pytest.fixture
def tester() -> FaceTransformerModelTester:
    return FaceTransformerModelTester()


families = pytest.mark.parametrize("family", ["emotion", "trait"])


def hand_weighted_kl(logits: torch.Tensor, target: torch.Tensor, weights: list[float]) -> float:
    """sum_c w_c * p_c * (log p_c - log q_c), q = softmax(logits), averaged over rows; 0 * log 0 counts as 0."""
    total = 0.0
    for row_logits, row_target in zip(logits.tolist(), target.tolist(), strict=True):
        log_normaliser = math.log(sum(math.exp(value) for value in row_logits))
        for weight, value, p in zip(weights, row_logits, row_target, strict=True):
            if p > 0:
                total += weight * p * (math.log(p) - (value - log_normaliser))
    return total / len(logits)


class TestFaceTransformerModel:
    @families
    def test_output_shapes(self, tester, family):
        model = tester.build(family)
        with torch.no_grad():
            output = model(tester.prepare_embeddings(), tester.prepare_attention_mask())
        assert isinstance(output, FaceTransformerOutput)
        assert output.loss is None
        assert output.logits.shape == (tester.batch_size, tester.num_labels(family))
        assert output.pooler_output.shape == (tester.batch_size, HIDDEN_SIZE)
        assert output.last_hidden_state.shape == (tester.batch_size, NUM_FRAMES, HIDDEN_SIZE)
        assert torch.isfinite(output.logits).all()

    def test_label_orders(self):
        emotion, trait = EmotionTransformerConfig(), TraitTransformerConfig()
        assert tuple(emotion.id2label[index] for index in range(7)) == EMOTIONS
        assert tuple(trait.id2label[index] for index in range(5)) == TRAITS
        assert trait.problem_type == "regression"

    @families
    def test_backward_reaches_every_parameter(self, tester, family):
        model = tester.build(family).train()
        labels = tester.prepare_labels(family)
        output = model(tester.prepare_embeddings(), tester.prepare_attention_mask(), labels=labels)
        assert output.loss.ndim == 0 and torch.isfinite(output.loss) and output.loss > 0
        output.loss.backward()
        no_grad = [name for name, parameter in model.named_parameters() if parameter.grad is None]
        assert no_grad == []
        assert model.encoder.position_embeddings.grad.abs().sum() > 0

    @families
    def test_masked_frames_are_ignored(self, tester, family):
        model = tester.build(family)
        embeddings, mask = tester.prepare_embeddings(), tester.prepare_attention_mask()
        changed = embeddings.clone()
        changed[1, [1, 4]] = 100.0 * torch.randn(2, EMBEDDING_DIM)  # row 1's masked frames
        with torch.no_grad():
            before, after = model(embeddings, mask), model(changed, mask)
        torch.testing.assert_close(after.logits[1], before.logits[1], atol=1e-6, rtol=0)
        torch.testing.assert_close(after.pooler_output[1], before.pooler_output[1], atol=1e-6, rtol=0)

    @families
    def test_unmasked_frame_changes_the_output(self, tester, family):
        model = tester.build(family)
        embeddings, mask = tester.prepare_embeddings(), tester.prepare_attention_mask()
        changed = embeddings.clone()
        changed[1, 2] = torch.randn(EMBEDDING_DIM)  # a frame with a face
        with torch.no_grad():
            before, after = model(embeddings, mask), model(changed, mask)
        assert not torch.allclose(after.logits[1], before.logits[1], atol=1e-4)
        # Rows are independent.
        torch.testing.assert_close(after.logits[0], before.logits[0], atol=1e-6, rtol=0)

    @families
    def test_row_without_faces_counts_every_frame(self, tester, family):
        model = tester.build(family)
        embeddings, mask = tester.prepare_embeddings(), tester.prepare_attention_mask()
        with torch.no_grad():
            masked = model(embeddings, mask).logits
            unmasked = model(embeddings).logits  # no mask: every frame counts
        assert torch.isfinite(masked[2]).all()
        torch.testing.assert_close(masked[2], unmasked[2], atol=1e-6, rtol=0)

    @families
    def test_half_precision_embeddings_are_accepted(self, tester, family):
        # Training tables may store float16 embeddings; the model casts them to its own dtype.
        model = tester.build(family)
        embeddings = tester.prepare_embeddings().half()
        with torch.no_grad():
            from_half = model(embeddings, tester.prepare_attention_mask()).logits
            from_float = model(embeddings.float(), tester.prepare_attention_mask()).logits
        assert from_half.dtype == torch.float32
        torch.testing.assert_close(from_half, from_float)

    @families
    def test_too_many_frames_is_a_clear_error(self, tester, family):
        model = tester.build(family)
        with pytest.raises(ValueError, match=f"at most {NUM_FRAMES}"):
            model(torch.randn(1, NUM_FRAMES + 1, EMBEDDING_DIM))

    def test_trait_loss_is_mean_squared_error(self, tester):
        model = tester.build("trait")
        labels = tester.prepare_labels("trait")
        with torch.no_grad():
            output = model(tester.prepare_embeddings(), tester.prepare_attention_mask(), labels=labels)
        torch.testing.assert_close(output.loss, F.mse_loss(output.logits, labels))

    def test_auto_classes_resolve(self, tmp_path):
        for config, model_class in (
            (tiny_emotion_config(), EmotionTransformerModel),
            (tiny_trait_config(), TraitTransformerModel),
        ):
            config.save_pretrained(tmp_path / config.model_type)
            loaded = AutoConfig.from_pretrained(tmp_path / config.model_type)
            assert type(loaded) is type(config)
            assert type(AutoModel.from_config(loaded)) is model_class

    @families
    def test_save_and_load_round_trip(self, tester, tmp_path, family):
        overrides = {"class_weights": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]} if family == "emotion" else {}
        model = tester.build(family, **overrides)
        model.save_pretrained(tmp_path)
        files = {path.name for path in tmp_path.iterdir()}
        assert "model.safetensors" in files
        assert not [name for name in files if name.endswith((".bin", ".pt", ".pth"))]
        assert {"configuration_face_transformer.py", "modeling_face_transformer.py"} <= files
        auto_map = json.loads((tmp_path / "config.json").read_text())["auto_map"]
        assert auto_map["AutoConfig"] == f"configuration_face_transformer.{type(model.config).__name__}"
        assert auto_map["AutoModel"] == f"modeling_face_transformer.{type(model).__name__}"
        reloaded = AutoModel.from_pretrained(tmp_path).eval()
        assert type(reloaded) is type(model)
        assert getattr(reloaded.config, "class_weights", None) == overrides.get("class_weights")
        inputs = (tester.prepare_embeddings(), tester.prepare_attention_mask())
        with torch.no_grad():
            assert torch.equal(model(*inputs).logits, reloaded(*inputs).logits)


class TestEmotionClassWeightedKL:
    def test_matches_a_hand_computation(self, tester):
        weights = [3.0, 10.0, 13.0, 20.0, 2.0, 15.0, 18.0]
        model = tester.build("emotion", class_weights=weights)
        labels = tester.prepare_labels("emotion")
        with torch.no_grad():
            output = model(tester.prepare_embeddings(), tester.prepare_attention_mask(), labels=labels)
        assert output.loss.item() == pytest.approx(hand_weighted_kl(output.logits, labels, weights), rel=1e-5)

    def test_without_class_weights_every_class_weighs_one(self, tester):
        model = tester.build("emotion")
        labels = tester.prepare_labels("emotion")
        with torch.no_grad():
            output = model(tester.prepare_embeddings(), tester.prepare_attention_mask(), labels=labels)
        assert output.loss.item() == pytest.approx(hand_weighted_kl(output.logits, labels, [1.0] * 7), rel=1e-5)
        # ...which is plain KL divergence.
        plain = F.kl_div(F.log_softmax(output.logits, -1), labels, reduction="batchmean")
        torch.testing.assert_close(output.loss, plain)

    def test_is_zero_when_the_target_is_the_prediction(self, tester):
        model = tester.build("emotion", class_weights=[3.0, 10.0, 13.0, 20.0, 2.0, 15.0, 18.0])
        embeddings, mask = tester.prepare_embeddings(), tester.prepare_attention_mask()
        with torch.no_grad():
            target = model(embeddings, mask).logits.softmax(-1)
            loss = model(embeddings, mask, labels=target).loss
        assert abs(loss.item()) < 1e-5

    def test_class_weights_from_the_config_change_the_loss(self, tester):
        inputs = (tester.prepare_embeddings(), tester.prepare_attention_mask())
        labels = tester.prepare_labels("emotion")
        unweighted = tester.build("emotion")
        weighted = tester.build("emotion", class_weights=[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 5.0])
        with torch.no_grad():
            assert torch.equal(unweighted(*inputs).logits, weighted(*inputs).logits)  # same seed, same weights
            base, scaled = unweighted(*inputs, labels=labels).loss, weighted(*inputs, labels=labels).loss
        assert scaled.item() != pytest.approx(base.item(), rel=1e-3)

    def test_integer_class_weights_are_stored_as_floats(self):
        config = EmotionTransformerConfig(class_weights=[1, 2, 3, 4, 5, 6, 7])
        assert config.class_weights == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
        assert all(isinstance(weight, float) for weight in config.class_weights)


class TestFaceTransformerConfigValidation:
    """`validate_architecture` must reject impossible configs when they are built, not deep inside a forward pass."""

    def test_wrong_number_of_class_weights(self):
        with pytest.raises(Exception, match="class_weights has 2 entries"):
            EmotionTransformerConfig(class_weights=[1.0, 2.0])

    def test_width_not_divisible_by_heads(self):
        with pytest.raises(Exception, match="must be divisible by num_attention_heads"):
            TraitTransformerConfig(hidden_size=10, num_attention_heads=3)


def remote_cases(root: Path, hf_home: Path) -> dict[str, RemoteCase]:
    """Both tiny checkpoints saved with their remote code (run by `remote_results` in conftest.py)."""
    tester = FaceTransformerModelTester()
    inputs = {"frame_embeddings": tester.prepare_embeddings(), "attention_mask": tester.prepare_attention_mask()}
    cases = {}
    for family in ("emotion", "trait"):
        model = tester.build(family, seed=3)
        model.save_pretrained(root / family)
        with torch.no_grad():
            cases[family] = RemoteCase(root / family, "AutoModel", inputs, {"logits": model(**inputs).logits})
    return cases


class TestFaceTransformerRemoteCode:
    @pytest.mark.parametrize(
        "family, class_name", [("emotion", "EmotionTransformerModel"), ("trait", "TraitTransformerModel")]
    )
    def test_loads_in_a_clean_process(self, remote_results, family, class_name):
        result = remote_results[f"face_transformer/{family}"]
        result.assert_matches_expected()
        assert result.class_name == class_name
        assert result.module.startswith("transformers_modules."), result.module
