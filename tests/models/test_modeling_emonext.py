"""EmoNeXt (the face-crop embedder and its FER classifier) on a tiny ConvNeXt, in the style of transformers'
`ConvNextModelTest`: a tester builds configs and inputs, each test checks one behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import timm
import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModel, AutoModelForImageClassification
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndNoAttention

from modeling import EmoNeXtConfig, EmoNeXtForImageClassification, EmoNeXtModel
from modeling.modeling_emonext import EmoNeXtImageClassifierOutput
from tests.models.remote_code import RemoteCase
from training.testing.tiny_configs import EMBEDDING_DIM, IMAGE_SIZE, tiny_emonext_config

EMOTIONS = ("neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise")


class EmoNeXtModelTester:
    """Builds tiny EmoNeXt configs, models and face-crop batches."""

    batch_size = 4

    def get_config(self, **overrides) -> EmoNeXtConfig:
        return tiny_emonext_config(**overrides)

    def prepare_pixel_values(self, seed: int = 0) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return torch.randn(self.batch_size, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator)

    def prepare_labels(self) -> torch.Tensor:
        return torch.tensor([0, 3, 4, 6])

    def build(self, model_class, seed: int = 0, **overrides):
        torch.manual_seed(seed)
        return model_class(self.get_config(**overrides)).eval()


@pytest.fixture
def tester() -> EmoNeXtModelTester:
    return EmoNeXtModelTester()


class TestEmoNeXtModel:
    def test_embedding_output(self, tester):
        model = tester.build(EmoNeXtModel)
        with torch.no_grad():
            output = model(tester.prepare_pixel_values())
        assert isinstance(output, BaseModelOutputWithPoolingAndNoAttention)
        assert output.pooler_output.shape == (tester.batch_size, EMBEDDING_DIM)
        assert model.config.hidden_size == EMBEDDING_DIM
        # 32-pixel crops downsample 32x to one spatial position in the last stage.
        assert output.last_hidden_state.shape == (tester.batch_size, EMBEDDING_DIM, 1, 1)
        assert torch.isfinite(output.pooler_output).all()

    def test_classifier_output(self, tester):
        model = tester.build(EmoNeXtForImageClassification)
        with torch.no_grad():
            output = model(tester.prepare_pixel_values())
        assert isinstance(output, EmoNeXtImageClassifierOutput)
        assert output.loss is None
        assert output.logits.shape == (tester.batch_size, 7)
        assert output.embeddings.shape == (tester.batch_size, EMBEDDING_DIM)
        assert output.attention_weights.shape == (tester.batch_size, tester.batch_size)
        torch.testing.assert_close(output.attention_weights.sum(-1), torch.ones(tester.batch_size))
        assert tuple(model.config.id2label[index] for index in range(7)) == EMOTIONS

    def test_spatial_transformer_is_identity_at_init(self, tester):
        model = tester.build(EmoNeXtModel)
        pixel_values = tester.prepare_pixel_values()
        with torch.no_grad():
            warped = model.spatial_transformer(pixel_values)
        # Bilinear sampling at the pixel centres, up to float rounding of the sampling grid.
        torch.testing.assert_close(warped, pixel_values, atol=1e-4, rtol=0)

    def test_squeeze_excitation_gates_are_exactly_one_at_init(self, tester):
        model = tester.build(EmoNeXtModel)
        assert len(model.squeeze_excitations) == 3  # one after each downsampling convolution
        for block, channels in zip(model.squeeze_excitations, model.config.hidden_sizes[1:], strict=True):
            hidden_states = torch.randn(2, channels, 3, 3)
            with torch.no_grad():
                assert torch.equal(block(hidden_states), hidden_states)

    def test_embeddings_equal_the_plain_timm_backbone(self, tester):
        model = tester.build(EmoNeXtModel)
        config = model.config
        backbone = timm.create_model(
            config.backbone,
            pretrained=False,
            num_classes=0,
            depths=tuple(config.depths),
            dims=tuple(config.hidden_sizes),
        ).eval()
        backbone.load_state_dict(model.backbone.state_dict())
        pixel_values = tester.prepare_pixel_values()
        with torch.no_grad():
            expected = backbone(pixel_values)
            embeddings = model(pixel_values).pooler_output
        assert expected.shape == embeddings.shape
        torch.testing.assert_close(embeddings, expected, atol=1e-4, rtol=1e-4)

    def test_embeddings_do_not_depend_on_the_build_seed(self, tester):
        first = tester.build(EmoNeXtModel, seed=0)
        second = tester.build(EmoNeXtModel, seed=1)
        # The seeds did change the randomly initialised layers (STN, SE squeeze)...
        assert not torch.equal(
            first.spatial_transformer.localization[0].weight, second.spatial_transformer.localization[0].weight
        )
        assert not torch.equal(
            first.squeeze_excitations[0].squeeze.weight, second.squeeze_excitations[0].squeeze.weight
        )
        # ...but with the same backbone weights the embeddings are the same.
        second.backbone.load_state_dict(first.backbone.state_dict())
        pixel_values = tester.prepare_pixel_values()
        with torch.no_grad():
            assert torch.equal(first(pixel_values).pooler_output, second(pixel_values).pooler_output)

    def test_loss_is_smoothed_cross_entropy_plus_weighted_attention_variance(self, tester):
        model = tester.build(EmoNeXtForImageClassification, attention_loss_weight=2.5, label_smoothing=0.2)
        # Sharpen the attention so its variance is far from zero: otherwise a missing regulariser would pass unseen.
        with torch.no_grad():
            model.attention.query.weight.normal_(std=1.0)
            model.attention.key.weight.normal_(std=1.0)
        labels = tester.prepare_labels()
        with torch.no_grad():
            output = model(tester.prepare_pixel_values(), labels=labels)
        cross_entropy = F.cross_entropy(output.logits, labels, label_smoothing=0.2)
        variance = output.attention_weights.var(unbiased=False)
        assert variance > 1e-3
        torch.testing.assert_close(output.loss - cross_entropy, 2.5 * variance, atol=1e-6, rtol=1e-5)

    def test_zero_attention_weight_gives_plain_cross_entropy(self, tester):
        model = tester.build(EmoNeXtForImageClassification, attention_loss_weight=0.0, label_smoothing=0.2)
        labels = tester.prepare_labels()
        with torch.no_grad():
            output = model(tester.prepare_pixel_values(), labels=labels)
        assert torch.equal(output.loss, F.cross_entropy(output.logits, labels, label_smoothing=0.2))

    def test_backward_reaches_every_parameter(self, tester):
        model = tester.build(EmoNeXtForImageClassification).train()
        output = model(tester.prepare_pixel_values(), labels=tester.prepare_labels())
        assert output.loss.ndim == 0 and torch.isfinite(output.loss)
        output.loss.backward()
        missing = [name for name, parameter in model.named_parameters() if parameter.grad is None]
        assert missing == []
        # The identity-initialised STN head and SE gates still learn: their gradients are not zero.
        assert model.emonext.spatial_transformer.regressor[-1].weight.grad.abs().sum() > 0
        assert all(block.excite.weight.grad.abs().sum() > 0 for block in model.emonext.squeeze_excitations)
        assert model.emonext.backbone.stem[0].weight.grad.abs().sum() > 0

    def test_gradient_checkpointing_recomputes_the_blocks_and_keeps_the_gradients(self, tester):
        model = tester.build(EmoNeXtForImageClassification).train()  # drop_path on: the recompute must replay it
        pixel_values, labels = tester.prepare_pixel_values(), tester.prepare_labels()
        block_calls = []
        # a pre-hook: the recompute stops as soon as it has what the backward needs, before the block returns
        model.emonext.backbone.stages[0].blocks[0].register_forward_pre_hook(lambda *_: block_calls.append(1))

        def training_step() -> dict[str, torch.Tensor]:
            model.zero_grad()
            block_calls.clear()
            torch.manual_seed(1)
            model(pixel_values, labels=labels).loss.backward()
            return {name: parameter.grad.clone() for name, parameter in model.named_parameters()}

        plain = training_step()
        assert len(block_calls) == 1 and not model.is_activation_checkpointing
        model.activation_checkpointing_enable()
        assert model.is_activation_checkpointing
        assert all(stage.grad_checkpointing for stage in model.emonext.backbone.stages)  # timm's own switch
        checkpointed = training_step()
        assert len(block_calls) == 2  # once forward, once again in the backward pass
        assert checkpointed.keys() == plain.keys()
        for name, gradient in plain.items():
            torch.testing.assert_close(checkpointed[name], gradient, msg=lambda m, name=name: f"{name}: {m}")
        model.activation_checkpointing_disable()
        assert not any(stage.grad_checkpointing for stage in model.emonext.backbone.stages)

    def test_auto_classes_resolve(self, tester, tmp_path):
        tester.get_config().save_pretrained(tmp_path)
        config = AutoConfig.from_pretrained(tmp_path)
        assert type(config) is EmoNeXtConfig
        assert type(AutoModel.from_config(config)) is EmoNeXtModel
        assert type(AutoModelForImageClassification.from_config(config)) is EmoNeXtForImageClassification

    @pytest.mark.parametrize("model_class", [EmoNeXtModel, EmoNeXtForImageClassification])
    def test_save_and_load_round_trip(self, tester, tmp_path, model_class):
        model = tester.build(model_class)
        model.save_pretrained(tmp_path)
        files = {path.name for path in tmp_path.iterdir()}
        assert "model.safetensors" in files
        assert not [name for name in files if name.endswith((".bin", ".pt", ".pth"))]
        auto_class = AutoModel if model_class is EmoNeXtModel else AutoModelForImageClassification
        reloaded = auto_class.from_pretrained(tmp_path).eval()
        assert type(reloaded) is model_class
        pixel_values = tester.prepare_pixel_values()
        with torch.no_grad():
            before, after = model(pixel_values), reloaded(pixel_values)
        for key in before.keys():
            assert torch.equal(before[key], after[key]), key

    def test_saved_folder_ships_remote_code(self, tester, tmp_path):
        tester.build(EmoNeXtForImageClassification).save_pretrained(tmp_path)
        files = {path.name for path in tmp_path.iterdir()}
        # configuration_emonext.py imports the label names from configuration_face_transformer.py.
        assert {"configuration_emonext.py", "modeling_emonext.py", "configuration_face_transformer.py"} <= files
        auto_map = json.loads((tmp_path / "config.json").read_text())["auto_map"]
        assert auto_map["AutoConfig"] == "configuration_emonext.EmoNeXtConfig"
        assert auto_map["AutoModelForImageClassification"] == "modeling_emonext.EmoNeXtForImageClassification"


def remote_cases(root: Path, hf_home: Path) -> dict[str, RemoteCase]:
    """A tiny embedder and classifier saved with their remote code (run by `remote_results` in conftest.py)."""
    tester = EmoNeXtModelTester()
    embedder, classifier = tester.build(EmoNeXtModel), tester.build(EmoNeXtForImageClassification, seed=1)
    embedder.save_pretrained(root / "embedder")
    classifier.save_pretrained(root / "classifier")
    inputs = {"pixel_values": tester.prepare_pixel_values()}
    with torch.no_grad():
        embeddings = embedder(**inputs).pooler_output
        classified = classifier(**inputs)
    return {
        "embedder": RemoteCase(root / "embedder", "AutoModel", inputs, {"pooler_output": embeddings}),
        "classifier": RemoteCase(
            root / "classifier",
            "AutoModelForImageClassification",
            inputs,
            {"logits": classified.logits, "embeddings": classified.embeddings},
        ),
        # A FER checkpoint is also an embedder: AutoModel should give its EmoNeXtModel part, as it does in-process.
        "classifier_as_embedder": RemoteCase(
            root / "classifier", "AutoModel", inputs, {"pooler_output": classified.embeddings}
        ),
    }


class TestEmoNeXtRemoteCode:
    """The saved folders load with trust_remote_code=True in a process that cannot import the project."""

    @pytest.mark.parametrize(
        "case, class_name",
        [
            ("embedder", "EmoNeXtModel"),
            ("classifier", "EmoNeXtForImageClassification"),
            ("classifier_as_embedder", "EmoNeXtModel"),
        ],
    )
    def test_loads_in_a_clean_process(self, remote_results, case, class_name):
        result = remote_results[f"emonext/{case}"]
        result.assert_matches_expected()
        assert result.class_name == class_name
        assert result.module.startswith("transformers_modules."), result.module
