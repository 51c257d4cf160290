"""EmoNeXt: a timm ConvNeXt adapted for facial expressions (El Boudouri & Bohi, MMSP 2023, arXiv 2501.08199).

Read top to bottom: the spatial transformer that straightens the face, the squeeze-excitation block that follows each
downsampling convolution, the self-attention regulariser of the training loss, then the models. Two choices differ
from the paper's code on purpose, so that embeddings are reproducible:

* the squeeze-excitation gate is `2 * sigmoid(.)` with its expanding layer initialised to zero, so each block is the
  identity at initialisation (the original initialised it at random without a seed, which made every process scale
  channels differently);
* the spatial transformer's last layer is zero with an identity bias (as in the paper), so it is the identity too.

With both, a freshly built EmoNeXt embeds a face exactly as its ImageNet ConvNeXt does, whatever the random state.
"""

from dataclasses import dataclass

import timm
import torch
import torch.nn.functional as F
from timm.models import checkpoint_seq
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndNoAttention
from transformers.utils import ModelOutput

from .configuration_emonext import EmoNeXtConfig


class EmoNeXtAffineHead(nn.Linear):
    """The spatial transformer's last layer: 6 affine parameters, initialised to the identity warp."""


class EmoNeXtExcitation(nn.Linear):
    """The squeeze-excitation's expanding layer, initialised to zero so that the gate starts at exactly 1."""


class EmoNeXtSpatialTransformer(nn.Module):
    """Predicts an affine warp of the input crop and applies it (Jaderberg et al., 2015)."""

    def __init__(self, config: EmoNeXtConfig):
        super().__init__()
        self.localization = nn.Sequential(
            nn.Conv2d(config.num_channels, 8, kernel_size=7),
            nn.BatchNorm2d(8),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(),
            nn.Conv2d(8, 10, kernel_size=5),
            nn.BatchNorm2d(10),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(),
        )
        side = ((config.image_size - 6) // 2 - 4) // 2
        self.regressor = nn.Sequential(
            nn.Linear(10 * side * side, config.stn_hidden_size), nn.ReLU(), EmoNeXtAffineHead(config.stn_hidden_size, 6)
        )

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        theta = self.regressor(self.localization(pixel_values).flatten(1)).view(-1, 2, 3)
        grid = F.affine_grid(theta, list(pixel_values.shape), align_corners=True)
        return F.grid_sample(pixel_values, grid, align_corners=True)


class EmoNeXtSqueezeExcitation(nn.Module):
    """Channel gating after a downsampling convolution; the identity at initialisation (see the module docstring)."""

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        self.squeeze = nn.Linear(channels, max(channels // reduction, 1), bias=False)
        self.excite = EmoNeXtExcitation(max(channels // reduction, 1), channels, bias=False)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        pooled = hidden_states.mean(dim=(2, 3))
        gate = 2.0 * torch.sigmoid(self.excite(F.relu(self.squeeze(pooled))))
        return hidden_states * gate[:, :, None, None]


class EmoNeXtSelfAttention(nn.Module):
    """Attention weights between the samples of a batch; their variance is EmoNeXt's regulariser.

    Only the weights are used (the paper's code discards the attended values), so there is no value projection.
    """

    def __init__(self, hidden_size: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden_size)
        self.query = nn.Linear(hidden_size, hidden_size)
        self.key = nn.Linear(hidden_size, hidden_size)
        self.scale = hidden_size**-0.25  # the paper's code scales by C^(-1/4), not C^(-1/2)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        normed = self.norm(embeddings)
        scores = self.query(normed) @ self.key(normed).transpose(0, 1) * self.scale
        return scores.softmax(dim=-1)


@dataclass
class EmoNeXtImageClassifierOutput(ModelOutput):
    """
    Args:
        loss (`torch.FloatTensor`, *optional*): label-smoothed cross-entropy plus the attention regulariser.
        logits (`torch.FloatTensor` of shape `(batch_size, num_labels)`): emotion scores before softmax.
        embeddings (`torch.FloatTensor` of shape `(batch_size, hidden_size)`): the pooled face embeddings.
        attention_weights (`torch.FloatTensor` of shape `(batch_size, batch_size)`): the regulariser's weights.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    embeddings: torch.FloatTensor | None = None
    attention_weights: torch.FloatTensor | None = None


class EmoNeXtPreTrainedModel(PreTrainedModel):
    config_class = EmoNeXtConfig
    accepts_loss_kwargs = False  # the loss is a per-sample mean: Trainer must scale it for accumulation
    base_model_prefix = "emonext"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    # Activation checkpointing through timm: see `EmoNeXtModel.gradient_checkpointing`.
    supports_gradient_checkpointing = True

    @torch.no_grad()
    def _init_weights(self, module: nn.Module):
        if isinstance(module, EmoNeXtAffineHead):
            init.zeros_(module.weight)
            init.copy_(module.bias, torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))
        elif isinstance(module, EmoNeXtExcitation):
            init.zeros_(module.weight)
        elif isinstance(module, (nn.Linear, nn.Conv2d)):
            init.trunc_normal_(module.weight, std=self.config.initializer_range)
            if module.bias is not None:
                init.zeros_(module.bias)
        else:
            super()._init_weights(module)


class EmoNeXtModel(EmoNeXtPreTrainedModel):
    """EmoNeXt without a head: face crops in, one pooled embedding (global average pool + LayerNorm) per crop out."""

    def __init__(self, config: EmoNeXtConfig):
        super().__init__(config)
        self.spatial_transformer = EmoNeXtSpatialTransformer(config)
        self.backbone = self._create_backbone(config, pretrained=False)
        self.squeeze_excitations = nn.ModuleList(
            EmoNeXtSqueezeExcitation(channels, config.se_reduction) for channels in config.hidden_sizes[1:]
        )
        self.post_init()
        if config.use_pretrained_backbone and torch.empty(0).device.type != "meta":
            self.load_pretrained_backbone()

    @staticmethod
    def _create_backbone(config: EmoNeXtConfig, pretrained: bool) -> nn.Module:
        return timm.create_model(
            config.backbone,
            pretrained=pretrained,
            num_classes=0,
            in_chans=config.num_channels,
            depths=tuple(config.depths),
            dims=tuple(config.hidden_sizes),
            drop_path_rate=config.drop_path_rate,
        )

    @property
    def gradient_checkpointing(self) -> bool:
        """Whether each ConvNeXt stage recomputes its blocks in the backward pass instead of keeping their activations.

        transformers' `gradient_checkpointing_enable()` (and `TrainingArguments(gradient_checkpointing=True)`) set it;
        it is timm's own switch, `set_grad_checkpointing`, on the backbone's stages.
        """
        return any(stage.grad_checkpointing for stage in self.backbone.stages)

    @gradient_checkpointing.setter
    def gradient_checkpointing(self, enable: bool) -> None:
        self.backbone.set_grad_checkpointing(enable)

    def load_pretrained_backbone(self):
        """Copies timm's ImageNet weights for `config.backbone` into the backbone (downloads through the Hub cache)."""
        pretrained = self._create_backbone(self.config, pretrained=True)
        self.backbone.load_state_dict(pretrained.state_dict())
        # The weights now live in this model: a saved copy must not fetch them again when rebuilt from its config.
        self.config.use_pretrained_backbone = False

    def forward(self, pixel_values: torch.Tensor, **kwargs) -> BaseModelOutputWithPoolingAndNoAttention:
        """
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, 3, image_size, image_size)`):
                RGB face crops normalised with the ImageNet mean and standard deviation.
        """
        hidden_states = self.backbone.stem(self.spatial_transformer(pixel_values))
        for index, stage in enumerate(self.backbone.stages):
            hidden_states = stage.downsample(hidden_states)
            if index > 0:
                hidden_states = self.squeeze_excitations[index - 1](hidden_states)
            if stage.grad_checkpointing and self.training and torch.is_grad_enabled():
                hidden_states = checkpoint_seq(stage.blocks, hidden_states)  # what timm's stage.forward does
            else:
                hidden_states = stage.blocks(hidden_states)
        hidden_states = self.backbone.norm_pre(hidden_states)
        pooled = self.backbone.forward_head(hidden_states, pre_logits=True)
        return BaseModelOutputWithPoolingAndNoAttention(last_hidden_state=hidden_states, pooler_output=pooled)


class EmoNeXtForImageClassification(EmoNeXtPreTrainedModel):
    """EmoNeXt with its facial-expression head (7 emotions in `config.id2label` order)."""

    def __init__(self, config: EmoNeXtConfig):
        super().__init__(config)
        self.emonext = EmoNeXtModel(config)
        self.attention = EmoNeXtSelfAttention(config.hidden_size)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def save_pretrained(self, save_directory, *args, **kwargs):
        """Also maps `AutoModel` in the saved remote code, so a FER checkpoint loads as an embedder anywhere."""
        auto_map = getattr(self.config, "auto_map", None) or {}
        self.config.auto_map = {**auto_map, "AutoModel": "modeling_emonext.EmoNeXtModel"}
        return super().save_pretrained(save_directory, *args, **kwargs)

    def forward(
        self, pixel_values: torch.Tensor, labels: torch.Tensor | None = None, **kwargs
    ) -> EmoNeXtImageClassifierOutput:
        """
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, 3, image_size, image_size)`):
                RGB face crops normalised with the ImageNet mean and standard deviation.
            labels (`torch.LongTensor` of shape `(batch_size,)`, *optional*):
                Emotion indices; when given, the loss is returned.
        """
        embeddings = self.emonext(pixel_values).pooler_output
        logits = self.classifier(embeddings)
        attention_weights = self.attention(embeddings)
        loss = None
        if labels is not None:
            cross_entropy = F.cross_entropy(logits, labels, label_smoothing=self.config.label_smoothing)
            attention_variance = ((attention_weights - attention_weights.mean()) ** 2).mean()
            loss = cross_entropy + self.config.attention_loss_weight * attention_variance
        return EmoNeXtImageClassifierOutput(
            loss=loss, logits=logits, embeddings=embeddings, attention_weights=attention_weights
        )


__all__ = ["EmoNeXtPreTrainedModel", "EmoNeXtModel", "EmoNeXtForImageClassification"]
