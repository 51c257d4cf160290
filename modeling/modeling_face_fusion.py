"""FaceFusion: video face crops (or their embeddings) in, 7 emotions and 5 OCEAN traits out.

The frozen emotion and trait transformers turn the frame embeddings into two per-frame sequences. Each goes through
its own fusion encoder; then each branch attends over the other's frames (traits query emotions, emotions query
traits). The two attended sequences are mean-pooled over the frames with a face, concatenated, passed through a
shared MLP, and read out by an emotion head and a trait head. Unlike the original notebook, the cross-attention runs
over whole frame sequences, not over one pooled token per branch (where softmax over a single key is always 1).
"""

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from .configuration_face_fusion import FaceFusionConfig
from .modeling_emonext import EmoNeXtModel
from .modeling_face_transformer import (
    EmotionTransformerModel,
    TraitTransformerModel,
    encoder_layers,
    frame_mask_or_all,
    masked_mean,
    weighted_kl_divergence,
)


@dataclass
class FaceFusionOutput(ModelOutput):
    """
    Args:
        loss (`torch.FloatTensor`, *optional*): weighted sum of the losses of the labels given.
        emotion_logits (`torch.FloatTensor` of shape `(batch_size, 7)`): emotion scores before softmax.
        emotion_probs (`torch.FloatTensor` of shape `(batch_size, 7)`): the emotion distribution.
        trait_logits (`torch.FloatTensor` of shape `(batch_size, 5)`): OCEAN trait scores (trained on [0, 1]; the
            trait transformer's `logits`, named like `emotion_logits`).
        emotion_loss (`torch.FloatTensor`, *optional*): the class-weighted KL divergence, when emotion labels are given.
        trait_loss (`torch.FloatTensor`, *optional*): the mean squared error, when trait labels are given.
        frame_embeddings (`torch.FloatTensor` of shape `(batch_size, num_frames, embedding_dim)`): the embedder's
            output (or the embeddings passed in).
    """

    loss: torch.FloatTensor | None = None
    emotion_logits: torch.FloatTensor | None = None
    emotion_probs: torch.FloatTensor | None = None
    trait_logits: torch.FloatTensor | None = None
    emotion_loss: torch.FloatTensor | None = None
    trait_loss: torch.FloatTensor | None = None
    frame_embeddings: torch.FloatTensor | None = None

    @property
    def traits(self) -> torch.FloatTensor | None:
        """Deprecated name of `trait_logits`."""
        warnings.warn("FaceFusionOutput.traits is deprecated; use trait_logits.", FutureWarning, stacklevel=2)
        return self.trait_logits


class FaceFusionEncoder(nn.Module):
    """Post-LN transformer encoder layers over one branch's frame sequence."""

    def __init__(self, config: FaceFusionConfig):
        super().__init__()
        self.layers = encoder_layers(config, config.num_fusion_layers)

    def forward(self, hidden_states: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            hidden_states = layer(hidden_states, src_key_padding_mask=padding_mask)
        return hidden_states


class FaceFusionCrossAttention(nn.Module):
    """One branch's frames attend over the other branch's frames; residual, dropout and LayerNorm."""

    def __init__(self, config: FaceFusionConfig):
        super().__init__()
        self.attention = nn.MultiheadAttention(
            config.hidden_size, config.num_attention_heads, dropout=config.hidden_dropout_prob, batch_first=True
        )
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, query: torch.Tensor, context: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        attended, _ = self.attention(query, context, context, key_padding_mask=padding_mask, need_weights=False)
        return self.norm(query + self.dropout(attended))


class FaceFusionPreTrainedModel(PreTrainedModel):
    config_class = FaceFusionConfig
    accepts_loss_kwargs = False  # the loss is a per-sample mean: Trainer must scale it for accumulation
    base_model_prefix = "face_fusion"
    main_input_name = "pixel_values"
    input_modalities = ("video",)
    _no_split_modules = ["TransformerEncoderLayer"]


class FaceFusionModel(FaceFusionPreTrainedModel):
    """The whole model: EmoNeXt embedder, frozen emotion and trait transformers, and the trainable fusion."""

    def __init__(self, config: FaceFusionConfig):
        super().__init__(config)
        self.embedder = EmoNeXtModel(config.embedder_config)
        self.emotion_model = EmotionTransformerModel(config.emotion_config)
        self.trait_model = TraitTransformerModel(config.trait_config)
        self.emotion_encoder = FaceFusionEncoder(config)
        self.trait_encoder = FaceFusionEncoder(config)
        self.traits_attend_emotions = FaceFusionCrossAttention(config)
        self.emotions_attend_traits = FaceFusionCrossAttention(config)
        self.shared_mlp = nn.Sequential(
            nn.Linear(2 * config.hidden_size, config.hidden_size), nn.ReLU(), nn.Dropout(config.hidden_dropout_prob)
        )
        self.emotion_head = nn.Linear(config.hidden_size, config.emotion_config.num_labels)
        self.trait_head = nn.Linear(config.hidden_size, config.trait_config.num_labels)
        self.freeze_parts()
        self.post_init()

    def freeze_parts(self):
        """Stops gradients to the embedder and the two transformers."""
        for frozen in self.frozen_parts():
            frozen.requires_grad_(False)

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        # transformers' loader recreates every parameter with requires_grad=True: freeze the parts again.
        model = super().from_pretrained(*args, **kwargs)
        model.freeze_parts()
        return model

    def frozen_parts(self) -> tuple[nn.Module, ...]:
        """The parts that stay fixed (and in eval mode) while the fusion trains."""
        return self.embedder, self.emotion_model, self.trait_model

    def train(self, mode: bool = True):
        """Like `nn.Module.train`, but the frozen parts stay in eval mode (no dropout, fixed BatchNorm)."""
        super().train(mode)
        for frozen in self.frozen_parts():
            frozen.eval()
        return self

    @classmethod
    def from_parts(
        cls,
        embedder: EmoNeXtModel,
        emotion_model: EmotionTransformerModel,
        trait_model: TraitTransformerModel,
        **fusion_kwargs,
    ) -> "FaceFusionModel":
        """Builds a fusion model around a trained embedder and trained emotion and trait transformers.

        The embedder must be the one that produced the training embeddings, so that the saved model turns a video
        into the same features its fusion layers were trained on.
        """
        config = FaceFusionConfig(
            embedder_config=embedder.config.to_dict(),
            emotion_config=emotion_model.config.to_dict(),
            trait_config=trait_model.config.to_dict(),
            **fusion_kwargs,
        )
        model = cls(config)
        model.embedder.load_state_dict(embedder.state_dict())
        model.emotion_model.load_state_dict(emotion_model.state_dict())
        model.trait_model.load_state_dict(trait_model.state_dict())
        return model

    def embed_frames(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """(batch, frames, 3, H, W) face crops -> (batch, frames, embedding_dim) embeddings."""
        batch_size, num_frames = pixel_values.shape[:2]
        with torch.no_grad():  # the embedder is frozen
            embeddings = self.embedder(pixel_values.flatten(0, 1)).pooler_output
        return embeddings.view(batch_size, num_frames, -1)

    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        frame_embeddings: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        emotion_labels: torch.Tensor | None = None,
        trait_labels: torch.Tensor | None = None,
        **kwargs,
    ) -> FaceFusionOutput:
        """
        Args:
            pixel_values (`torch.FloatTensor` of shape `(batch_size, num_frames, 3, image_size, image_size)`):
                Face crops from [`FaceVideoProcessor`]; embedded by the EmoNeXt embedder.
            frame_embeddings (`torch.FloatTensor` of shape `(batch_size, num_frames, embedding_dim)`):
                Precomputed EmoNeXt embeddings, instead of `pixel_values`.
            attention_mask (`torch.LongTensor` of shape `(batch_size, num_frames)`, *optional*):
                1 for frames with a detected face, 0 for frames to ignore.
            emotion_labels (`torch.FloatTensor` of shape `(batch_size, 7)`, *optional*):
                Target emotion distributions.
            trait_labels (`torch.FloatTensor` of shape `(batch_size, 5)`, *optional*):
                Target trait scores.
        """
        if (pixel_values is None) == (frame_embeddings is None):
            raise ValueError("pass exactly one of `pixel_values` or `frame_embeddings`.")
        if frame_embeddings is None:
            frame_embeddings = self.embed_frames(pixel_values)
        attention_mask = frame_mask_or_all(attention_mask, frame_embeddings)
        padding_mask = attention_mask == 0

        with torch.no_grad():
            emotion_states = self.emotion_model(frame_embeddings, attention_mask).last_hidden_state
            trait_states = self.trait_model(frame_embeddings, attention_mask).last_hidden_state
        emotion_states = self.emotion_encoder(emotion_states, padding_mask)
        trait_states = self.trait_encoder(trait_states, padding_mask)
        fused_traits = self.traits_attend_emotions(trait_states, emotion_states, padding_mask)
        fused_emotions = self.emotions_attend_traits(emotion_states, trait_states, padding_mask)
        pooled = torch.cat([masked_mean(fused_traits, attention_mask), masked_mean(fused_emotions, attention_mask)], -1)
        shared = self.shared_mlp(pooled)
        emotion_logits = self.emotion_head(shared)
        trait_logits = self.trait_head(shared)

        emotion_loss = trait_loss = None
        losses = []
        if emotion_labels is not None:
            weights = self.config.emotion_config.class_weights
            weights = torch.tensor(weights, device=emotion_logits.device) if weights is not None else None
            emotion_loss = weighted_kl_divergence(emotion_logits, emotion_labels, weights)
            losses.append(self.config.emotion_loss_weight * emotion_loss)
        if trait_labels is not None:
            trait_loss = F.mse_loss(trait_logits.float(), trait_labels.float())
            losses.append(self.config.trait_loss_weight * trait_loss)
        return FaceFusionOutput(
            loss=sum(losses) if losses else None,
            emotion_logits=emotion_logits,
            emotion_probs=emotion_logits.float().softmax(dim=-1),
            trait_logits=trait_logits,
            emotion_loss=emotion_loss,
            trait_loss=trait_loss,
            frame_embeddings=frame_embeddings,
        )


__all__ = ["FaceFusionPreTrainedModel", "FaceFusionModel"]
