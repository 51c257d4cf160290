"""FaceFusion (EmoNeXt embedder + frozen emotion/trait transformers + trainable cross-attention fusion) on tiny
configs: from face crops or precomputed embeddings to 7 emotions and 5 traits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModel

from modeling import (
    EmoNeXtConfig,
    EmoNeXtModel,
    EmotionTransformerConfig,
    EmotionTransformerModel,
    FaceFusionConfig,
    FaceFusionModel,
    FaceFusionOutput,
    TraitTransformerConfig,
    TraitTransformerModel,
)
from tests.models.remote_code import RemoteCase
from training.testing.tiny_configs import (
    EMBEDDING_DIM,
    IMAGE_SIZE,
    NUM_FRAMES,
    tiny_emonext_config,
    tiny_emotion_config,
    tiny_fusion_config,
    tiny_trait_config,
)

EMOTIONS = ("neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise")
TRAITS = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")
FROZEN_PARTS = ("embedder", "emotion_model", "trait_model")


class FaceFusionModelTester:
    """Builds tiny fusion models and batches of face crops, embeddings, masks and labels."""

    batch_size = 3

    def build(self, seed: int = 0, **overrides) -> FaceFusionModel:
        torch.manual_seed(seed)
        return FaceFusionModel(tiny_fusion_config(**overrides)).eval()

    def prepare_pixel_values(self, seed: int = 0) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(self.batch_size, NUM_FRAMES, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator)

    def prepare_embeddings(self, seed: int = 0) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(self.batch_size, NUM_FRAMES, EMBEDDING_DIM, generator=generator)

    def prepare_attention_mask(self) -> torch.Tensor:
        """Row 0: every frame a face; row 1: gaps at frames 0 and 3; row 2: no face at all."""
        mask = torch.ones(self.batch_size, NUM_FRAMES, dtype=torch.long)
        mask[1, [0, 3]] = 0
        mask[2] = 0
        return mask

    def prepare_labels(self) -> tuple[torch.Tensor, torch.Tensor]:
        generator = torch.Generator().manual_seed(7)
        emotions = torch.rand(self.batch_size, 7, generator=generator)
        return emotions / emotions.sum(-1, keepdim=True), torch.rand(self.batch_size, 5, generator=generator)


@pytest.fixture
def tester() -> FaceFusionModelTester:
    return FaceFusionModelTester()


def prediction(output: FaceFusionOutput) -> torch.Tensor:
    """The model's answer, emotions and traits side by side (the frame embeddings are not a prediction)."""
    return torch.cat([output.emotion_logits, output.emotion_probs, output.trait_logits], dim=-1)


class TestFaceFusionModel:
    def test_output_from_pixels(self, tester):
        model = tester.build()
        with torch.no_grad():
            output = model(pixel_values=tester.prepare_pixel_values(), attention_mask=tester.prepare_attention_mask())
        assert isinstance(output, FaceFusionOutput)
        assert output.loss is None and output.emotion_loss is None and output.trait_loss is None
        assert output.emotion_logits.shape == (tester.batch_size, 7)
        assert output.emotion_probs.shape == (tester.batch_size, 7)
        assert output.trait_logits.shape == (tester.batch_size, 5)
        assert output.frame_embeddings.shape == (tester.batch_size, NUM_FRAMES, EMBEDDING_DIM)
        torch.testing.assert_close(output.emotion_probs, output.emotion_logits.softmax(-1))
        torch.testing.assert_close(output.emotion_probs.sum(-1), torch.ones(tester.batch_size))
        assert torch.isfinite(prediction(output)).all()

    def test_label_orders(self):
        config = FaceFusionConfig()
        assert tuple(config.emotion_config.id2label[index] for index in range(7)) == EMOTIONS
        assert tuple(config.trait_config.id2label[index] for index in range(5)) == TRAITS

    def test_production_defaults(self):
        config = FaceFusionConfig()
        assert isinstance(config.embedder_config, EmoNeXtConfig)
        assert isinstance(config.emotion_config, EmotionTransformerConfig)
        assert isinstance(config.trait_config, TraitTransformerConfig)
        assert config.embedder_config.hidden_size == 1024
        assert config.emotion_config.embedding_dim == config.trait_config.embedding_dim == 1024
        assert config.num_frames == 30

    def test_fusion_layers_follow_the_config(self, tester):
        model = tester.build(hidden_act="gelu", layer_norm_eps=1e-3)
        layers = [*model.emotion_encoder.layers, *model.trait_encoder.layers]
        assert layers and all(layer.activation is F.gelu for layer in layers)
        norms = [norm for layer in layers for norm in (layer.norm1, layer.norm2)]
        norms += [model.traits_attend_emotions.norm, model.emotions_attend_traits.norm]
        assert all(norm.eps == 1e-3 for norm in norms)

    def test_defaults_keep_the_weights_saved_before_the_options(self, tester, tmp_path):
        """Configs written before `hidden_act` and `layer_norm_eps` existed mean PyTorch's defaults, under the same
        parameter names, so their weights load unchanged."""
        model = tester.build()
        model.save_pretrained(tmp_path)
        config = json.loads((tmp_path / "config.json").read_text())
        del config["hidden_act"], config["layer_norm_eps"]
        (tmp_path / "config.json").write_text(json.dumps(config))
        reloaded = FaceFusionModel.from_pretrained(tmp_path).eval()
        assert (reloaded.config.hidden_act, reloaded.config.layer_norm_eps) == ("relu", 1e-5)
        assert reloaded.emotion_encoder.layers[0].activation is F.relu
        assert {"emotion_encoder.layers.0.linear1.weight", "traits_attend_emotions.norm.weight"} <= set(
            reloaded.state_dict()
        )
        inputs = {"frame_embeddings": tester.prepare_embeddings(), "attention_mask": tester.prepare_attention_mask()}
        with torch.no_grad():
            assert torch.equal(prediction(model(**inputs)), prediction(reloaded(**inputs)))

    def test_traits_is_a_deprecated_name_of_trait_logits(self, tester):
        with torch.no_grad():
            output = tester.build()(frame_embeddings=tester.prepare_embeddings())
        with pytest.warns(FutureWarning, match="trait_logits"):
            assert output.traits is output.trait_logits

    def test_pixels_and_embeddings_agree(self, tester):
        model = tester.build()
        pixel_values, mask = tester.prepare_pixel_values(), tester.prepare_attention_mask()
        with torch.no_grad():
            embeddings = model.embedder(pixel_values.flatten(0, 1)).pooler_output
            embeddings = embeddings.view(tester.batch_size, NUM_FRAMES, -1)
            from_pixels = model(pixel_values=pixel_values, attention_mask=mask)
            from_embeddings = model(frame_embeddings=embeddings, attention_mask=mask)
        torch.testing.assert_close(from_pixels.frame_embeddings, embeddings)
        torch.testing.assert_close(prediction(from_pixels), prediction(from_embeddings), atol=1e-6, rtol=0)

    @pytest.mark.parametrize("both", [True, False])
    def test_exactly_one_input_kind(self, tester, both):
        model = tester.build()
        inputs = {"pixel_values": tester.prepare_pixel_values(), "frame_embeddings": tester.prepare_embeddings()}
        with pytest.raises(ValueError, match="exactly one of `pixel_values` or `frame_embeddings`"):
            model(**(inputs if both else {}))

    def test_losses(self, tester):
        model = tester.build(emotion_loss_weight=0.5, trait_loss_weight=2.0)
        emotions, traits = tester.prepare_labels()
        inputs = {"frame_embeddings": tester.prepare_embeddings(), "attention_mask": tester.prepare_attention_mask()}
        with torch.no_grad():
            both = model(**inputs, emotion_labels=emotions, trait_labels=traits)
            emotion_only = model(**inputs, emotion_labels=emotions)
            trait_only = model(**inputs, trait_labels=traits)
        kl = F.kl_div(F.log_softmax(both.emotion_logits, -1), emotions, reduction="batchmean")  # no class weights
        torch.testing.assert_close(both.emotion_loss, kl)
        torch.testing.assert_close(both.trait_loss, F.mse_loss(both.trait_logits, traits))
        torch.testing.assert_close(both.loss, 0.5 * both.emotion_loss + 2.0 * both.trait_loss)
        assert emotion_only.trait_loss is None and trait_only.emotion_loss is None
        torch.testing.assert_close(emotion_only.loss, 0.5 * both.emotion_loss)
        torch.testing.assert_close(trait_only.loss, 2.0 * both.trait_loss)

    def test_emotion_loss_uses_the_emotion_config_class_weights(self, tester):
        weights = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 5.0]
        model = tester.build(emotion_config=tiny_emotion_config(class_weights=weights).to_dict())
        emotions, _ = tester.prepare_labels()
        with torch.no_grad():
            output = model(frame_embeddings=tester.prepare_embeddings(), emotion_labels=emotions)
        log_probs = F.log_softmax(output.emotion_logits, -1)
        expected = (torch.tensor(weights) * emotions * (emotions.log() - log_probs)).sum(-1).mean()
        torch.testing.assert_close(output.emotion_loss, expected)

    def test_only_the_fusion_layers_train(self, tester):
        model = tester.build().train()
        for name in FROZEN_PARTS:
            part = getattr(model, name)
            assert not any(module.training for module in part.modules()), f"{name} left in train mode"
            assert not any(parameter.requires_grad for parameter in part.parameters()), name
        assert model.emotion_encoder.training and model.traits_attend_emotions.training and model.shared_mlp.training
        emotions, traits = tester.prepare_labels()
        output = model(
            pixel_values=tester.prepare_pixel_values(),
            attention_mask=tester.prepare_attention_mask(),
            emotion_labels=emotions,
            trait_labels=traits,
        )
        output.loss.backward()
        for name, parameter in model.named_parameters():
            if name.split(".")[0] in FROZEN_PARTS:
                assert parameter.grad is None, name
            else:
                assert parameter.grad is not None, name
        with_grad = [name for name, parameter in model.named_parameters() if parameter.grad is not None]
        fusion_names = {name.split(".")[0] for name in with_grad}
        assert fusion_names == {
            "emotion_encoder",
            "trait_encoder",
            "traits_attend_emotions",
            "emotions_attend_traits",
            "shared_mlp",
            "emotion_head",
            "trait_head",
        }
        assert model.emotion_encoder.layers[0].linear1.weight.grad.abs().sum() > 0

    def test_reloaded_model_keeps_its_parts_frozen(self, tester, tmp_path):
        # Fine-tuning or resuming starts from a saved fusion model: its parts must still be frozen.
        tester.build().save_pretrained(tmp_path)
        model = AutoModel.from_pretrained(tmp_path).train()
        for name in FROZEN_PARTS:
            part = getattr(model, name)
            assert not any(module.training for module in part.modules()), f"{name} left in train mode"
            trainable = [key for key, parameter in part.named_parameters() if parameter.requires_grad]
            assert trainable == [], f"{name} has trainable parameters after from_pretrained: {trainable[:3]}"
        emotions, traits = tester.prepare_labels()
        output = model(pixel_values=tester.prepare_pixel_values(), emotion_labels=emotions, trait_labels=traits)
        output.loss.backward()
        with_grad = [name for name, parameter in model.named_parameters() if parameter.grad is not None]
        assert [name for name in with_grad if name.split(".")[0] in FROZEN_PARTS] == []

    def test_frozen_parts_stay_deterministic_in_train_mode(self, tester):
        # Dropout in the frozen transformers and drop-path in the embedder would make embeddings random.
        model = tester.build().train()
        pixel_values = tester.prepare_pixel_values()
        with torch.no_grad():
            first, second = model.embed_frames(pixel_values), model.embed_frames(pixel_values)
            embeddings = tester.prepare_embeddings()
            states = [model.emotion_model(embeddings).last_hidden_state for _ in range(2)]
        assert torch.equal(first, second)
        assert torch.equal(states[0], states[1])

    @pytest.mark.parametrize("input_name", ["pixel_values", "frame_embeddings"])
    def test_masked_frames_are_ignored(self, tester, input_name):
        model = tester.build()
        inputs = tester.prepare_pixel_values() if input_name == "pixel_values" else tester.prepare_embeddings()
        mask = tester.prepare_attention_mask()
        changed = inputs.clone()
        changed[1, [0, 3]] = 50.0 * torch.randn_like(changed[1, [0, 3]])  # row 1's masked frames
        with torch.no_grad():
            before = model(**{input_name: inputs}, attention_mask=mask)
            after = model(**{input_name: changed}, attention_mask=mask)
        torch.testing.assert_close(prediction(after)[1], prediction(before)[1], atol=1e-6, rtol=0)

    @pytest.mark.parametrize("input_name", ["pixel_values", "frame_embeddings"])
    def test_unmasked_frame_changes_the_output(self, tester, input_name):
        model = tester.build()
        inputs = tester.prepare_pixel_values() if input_name == "pixel_values" else tester.prepare_embeddings()
        mask = tester.prepare_attention_mask()
        changed = inputs.clone()
        changed[1, 2] = 5.0 * torch.randn_like(changed[1, 2])  # a frame with a face
        with torch.no_grad():
            before = model(**{input_name: inputs}, attention_mask=mask)
            after = model(**{input_name: changed}, attention_mask=mask)
        assert not torch.allclose(prediction(after)[1], prediction(before)[1], atol=1e-5)
        torch.testing.assert_close(prediction(after)[0], prediction(before)[0], atol=1e-6, rtol=0)

    def test_row_without_faces_gives_finite_output(self, tester):
        model = tester.build()
        with torch.no_grad():
            output = model(pixel_values=tester.prepare_pixel_values(), attention_mask=torch.zeros(3, NUM_FRAMES))
        assert torch.isfinite(prediction(output)).all()

    def test_from_parts_copies_the_trained_weights(self, tester):
        torch.manual_seed(11)
        embedder = EmoNeXtModel(tiny_emonext_config()).eval()
        emotion_model = EmotionTransformerModel(tiny_emotion_config(class_weights=[2.0] * 7)).eval()
        trait_model = TraitTransformerModel(tiny_trait_config()).eval()
        # Give every part weights no fresh initialisation would have, so an un-copied part cannot pass.
        for part in (embedder, emotion_model, trait_model):
            with torch.no_grad():
                for parameter in part.parameters():
                    parameter.add_(0.01 * torch.randn_like(parameter))
        torch.manual_seed(12)
        model = FaceFusionModel.from_parts(
            embedder, emotion_model, trait_model, num_fusion_layers=1, num_attention_heads=2, intermediate_size=32
        ).eval()
        assert model.config.emotion_config.class_weights == [2.0] * 7
        assert model.config.num_fusion_layers == 1
        pixel_values, embeddings = tester.prepare_pixel_values().flatten(0, 1), tester.prepare_embeddings()
        with torch.no_grad():
            assert torch.equal(model.embedder(pixel_values).pooler_output, embedder(pixel_values).pooler_output)
            assert torch.equal(model.emotion_model(embeddings).logits, emotion_model(embeddings).logits)
            assert torch.equal(model.trait_model(embeddings).logits, trait_model(embeddings).logits)
        assert not any(parameter.requires_grad for parameter in model.embedder.parameters())

    def test_too_many_frames_is_a_clear_error(self, tester):
        model = tester.build()
        with pytest.raises(ValueError, match=f"at most {NUM_FRAMES}"):
            model(frame_embeddings=torch.randn(1, NUM_FRAMES + 1, EMBEDDING_DIM))

    def test_mismatched_parts_are_rejected_by_the_config(self):
        with pytest.raises(Exception, match="differs from the embedder's size"):
            FaceFusionConfig(
                embedder_config=tiny_emonext_config(hidden_sizes=[8, 16, 32, 48]).to_dict(),
                emotion_config=tiny_emotion_config().to_dict(),
                trait_config=tiny_trait_config().to_dict(),
            )

    def test_auto_classes_resolve(self, tmp_path):
        tiny_fusion_config().save_pretrained(tmp_path)
        config = AutoConfig.from_pretrained(tmp_path)
        assert type(config) is FaceFusionConfig
        assert type(config.embedder_config) is EmoNeXtConfig
        assert type(config.emotion_config) is EmotionTransformerConfig
        assert type(config.trait_config) is TraitTransformerConfig
        assert type(AutoModel.from_config(config)) is FaceFusionModel

    def test_save_and_load_round_trip(self, tester, tmp_path):
        model = tester.build()
        model.save_pretrained(tmp_path)
        files = {path.name for path in tmp_path.iterdir()}
        assert "model.safetensors" in files
        assert not [name for name in files if name.endswith((".bin", ".pt", ".pth"))]
        assert {
            "configuration_face_fusion.py",
            "modeling_face_fusion.py",
            "configuration_emonext.py",
            "modeling_emonext.py",
            "configuration_face_transformer.py",
            "modeling_face_transformer.py",
        } <= files
        auto_map = json.loads((tmp_path / "config.json").read_text())["auto_map"]
        assert auto_map == {
            "AutoConfig": "configuration_face_fusion.FaceFusionConfig",
            "AutoModel": "modeling_face_fusion.FaceFusionModel",
        }
        reloaded = AutoModel.from_pretrained(tmp_path).eval()
        assert type(reloaded) is FaceFusionModel
        inputs = {"pixel_values": tester.prepare_pixel_values(), "attention_mask": tester.prepare_attention_mask()}
        with torch.no_grad():
            assert torch.equal(prediction(model(**inputs)), prediction(reloaded(**inputs)))


def remote_cases(root: Path, hf_home: Path) -> dict[str, RemoteCase]:
    """A tiny fusion model saved with its remote code, run from pixels and from embeddings (by `remote_results` in
    conftest.py)."""
    tester = FaceFusionModelTester()
    model = tester.build(seed=5)
    model.save_pretrained(root / "face-fusion")
    mask = tester.prepare_attention_mask()
    inputs = {
        "pixels": {"pixel_values": tester.prepare_pixel_values(), "attention_mask": mask},
        "embeddings": {"frame_embeddings": tester.prepare_embeddings(), "attention_mask": mask},
    }
    cases = {}
    for name, case_inputs in inputs.items():
        with torch.no_grad():
            output = model(**case_inputs)
        expected = {field: output[field] for field in ("emotion_logits", "emotion_probs", "trait_logits")}
        cases[name] = RemoteCase(root / "face-fusion", "AutoModel", case_inputs, expected)
    return cases


class TestFaceFusionRemoteCode:
    @pytest.mark.parametrize("case", ["pixels", "embeddings"])
    def test_loads_in_a_clean_process(self, remote_results, case):
        result = remote_results[f"face_fusion/{case}"]
        result.assert_matches_expected()
        assert result.class_name == "FaceFusionModel"
        assert result.module.startswith("transformers_modules."), result.module
