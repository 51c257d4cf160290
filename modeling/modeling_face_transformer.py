"""Face-sequence transformers: per-frame face embeddings in, a clip-level prediction out.

One encoder (projection, learned positions, post-LN encoder layers, mean pool over the frames that hold a face) and
two heads: the emotion model (7-way distribution, class-weighted KL divergence) and the trait model (5 OCEAN scores,
mean squared error). Frames whose `attention_mask` is 0 (no face found) are ignored by attention and pooling, so
whatever embedding they carry cannot change the prediction.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from .configuration_face_transformer import EmotionTransformerConfig, FaceTransformerConfig, TraitTransformerConfig


def encoder_layers(config, num_layers: int) -> nn.ModuleList:
    """`num_layers` post-LN transformer encoder layers (batch first), the block of the sequence models and the fusion.

    Args:
        config: A config with `hidden_size`, `num_attention_heads`, `intermediate_size`, `hidden_dropout_prob`,
            `hidden_act` and `layer_norm_eps` ([`FaceTransformerConfig`] or [`FaceFusionConfig`]).
        num_layers: How many layers.
    """
    return nn.ModuleList(
        nn.TransformerEncoderLayer(
            d_model=config.hidden_size,
            nhead=config.num_attention_heads,
            dim_feedforward=config.intermediate_size,
            dropout=config.hidden_dropout_prob,
            activation=config.hidden_act,
            layer_norm_eps=config.layer_norm_eps,
            batch_first=True,
        )
        for _ in range(num_layers)
    )


def weighted_kl_divergence(logits: torch.Tensor, target: torch.Tensor, class_weights: torch.Tensor | None = None):
    """Class-weighted KL(target || softmax(logits)), summed over classes and averaged over the batch.

    Rare emotions get larger weights so that the model does not collapse onto the frequent ones; terms where the
    target is 0 vanish.
    """
    log_probs = F.log_softmax(logits.float(), dim=-1)
    target = target.float()
    terms = target * (torch.log(target.clamp_min(1e-8)) - log_probs)
    if class_weights is not None:
        terms = terms * class_weights.to(terms.device, terms.dtype)
    return terms.sum(dim=-1).mean()


def masked_mean(hidden_states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean over the frames whose mask is 1."""
    weights = attention_mask.to(hidden_states.dtype).unsqueeze(-1)
    return (hidden_states * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


def frame_mask_or_all(attention_mask: torch.Tensor | None, frame_embeddings: torch.Tensor) -> torch.Tensor:
    """The frame mask as 0/1 longs; a missing mask, or a row with no face at all, counts every frame."""
    if attention_mask is None:
        return torch.ones(frame_embeddings.shape[:2], dtype=torch.long, device=frame_embeddings.device)
    attention_mask = attention_mask.to(frame_embeddings.device).long()
    empty_rows = attention_mask.sum(dim=1, keepdim=True) == 0
    return torch.where(empty_rows, torch.ones_like(attention_mask), attention_mask)


@dataclass
class FaceTransformerOutput(ModelOutput):
    """
    Args:
        loss (`torch.FloatTensor`, *optional*): returned when `labels` are given.
        logits (`torch.FloatTensor` of shape `(batch_size, num_labels)`): emotion logits, or the trait scores.
        pooler_output (`torch.FloatTensor` of shape `(batch_size, hidden_size)`): the pooled clip representation.
        last_hidden_state (`torch.FloatTensor` of shape `(batch_size, num_frames, hidden_size)`): per-frame states.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    pooler_output: torch.FloatTensor | None = None
    last_hidden_state: torch.FloatTensor | None = None


class FaceTransformerEncoder(nn.Module):
    """Projection, learned positions and post-LN encoder layers over a sequence of frame embeddings."""

    def __init__(self, config: FaceTransformerConfig):
        super().__init__()
        self.projection = nn.Linear(config.embedding_dim, config.hidden_size)
        self.position_embeddings = nn.Parameter(torch.zeros(1, config.max_frames, config.hidden_size))
        self.layers = encoder_layers(config, config.num_hidden_layers)

    def forward(self, frame_embeddings: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        num_frames = frame_embeddings.shape[1]
        if num_frames > self.position_embeddings.shape[1]:
            raise ValueError(
                f"got {num_frames} frames but the model has positions for at most {self.position_embeddings.shape[1]}."
            )
        hidden_states = self.projection(frame_embeddings.to(self.projection.weight.dtype))
        hidden_states = hidden_states + self.position_embeddings[:, :num_frames]
        padding_mask = attention_mask == 0
        for layer in self.layers:
            hidden_states = layer(hidden_states, src_key_padding_mask=padding_mask)
        return hidden_states


class FaceTransformerPreTrainedModel(PreTrainedModel):
    config_class = FaceTransformerConfig
    accepts_loss_kwargs = False  # the loss is a per-sample mean: Trainer must scale it for accumulation
    base_model_prefix = "encoder"
    main_input_name = "frame_embeddings"
    _no_split_modules = ["TransformerEncoderLayer"]

    @torch.no_grad()
    def _init_weights(self, module: nn.Module):
        super()._init_weights(module)
        if isinstance(module, FaceTransformerEncoder):
            init.trunc_normal_(module.position_embeddings, std=self.config.initializer_range)


class FaceTransformerModel(FaceTransformerPreTrainedModel):
    """The shared encoder and pooling; subclasses add their head and loss."""

    def __init__(self, config: FaceTransformerConfig):
        super().__init__(config)
        self.encoder = FaceTransformerEncoder(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def compute_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(
        self,
        frame_embeddings: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs,
    ) -> FaceTransformerOutput:
        """
        Args:
            frame_embeddings (`torch.FloatTensor` of shape `(batch_size, num_frames, embedding_dim)`):
                One face embedding per sampled frame (from [`EmoNeXtModel`]).
            attention_mask (`torch.LongTensor` of shape `(batch_size, num_frames)`, *optional*):
                1 for frames with a detected face, 0 for frames to ignore. Defaults to all ones.
            labels (`torch.FloatTensor` of shape `(batch_size, num_labels)`, *optional*):
                Emotion distributions or trait scores; when given, the loss is returned.
        """
        attention_mask = frame_mask_or_all(attention_mask, frame_embeddings)
        hidden_states = self.encoder(frame_embeddings, attention_mask)
        pooled = masked_mean(hidden_states, attention_mask)
        logits = self.classifier(self.dropout(pooled))
        loss = self.compute_loss(logits, labels) if labels is not None else None
        return FaceTransformerOutput(loss=loss, logits=logits, pooler_output=pooled, last_hidden_state=hidden_states)


class EmotionTransformerModel(FaceTransformerModel):
    """Predicts the 7-emotion distribution of a clip; `logits` go through softmax for probabilities."""

    config_class = EmotionTransformerConfig

    def compute_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        weights = self.config.class_weights
        weights = torch.tensor(weights, device=logits.device) if weights is not None else None
        return weighted_kl_divergence(logits, labels, weights)


class TraitTransformerModel(FaceTransformerModel):
    """Regresses the five OCEAN traits of a clip; `logits` are the trait scores (trained on [0, 1] targets)."""

    config_class = TraitTransformerConfig

    def compute_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(logits.float(), labels.float())


__all__ = [
    "FaceTransformerPreTrainedModel",
    "FaceTransformerModel",
    "EmotionTransformerModel",
    "TraitTransformerModel",
    "weighted_kl_divergence",
    "masked_mean",
    "encoder_layers",
]
