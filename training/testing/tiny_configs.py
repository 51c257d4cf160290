"""Tiny configurations of every model, shared by the tests so that each runs in seconds on a CPU."""

from modeling import EmoNeXtConfig, EmotionTransformerConfig, FaceFusionConfig, TraitTransformerConfig

IMAGE_SIZE = 32
EMBEDDING_DIM = 64
NUM_FRAMES = 6


def tiny_emonext_config(**overrides) -> EmoNeXtConfig:
    """A one-block-per-stage ConvNeXt on 32-pixel crops (64-d embeddings)."""
    values = dict(
        backbone="convnext_atto", depths=[1, 1, 1, 1], hidden_sizes=[8, 16, 32, EMBEDDING_DIM], image_size=IMAGE_SIZE
    )
    return EmoNeXtConfig(**{**values, **overrides})


def _tiny_transformer_values(**overrides) -> dict:
    values = dict(
        embedding_dim=EMBEDDING_DIM,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        max_frames=NUM_FRAMES,
        hidden_dropout_prob=0.1,
    )
    return {**values, **overrides}


def tiny_emotion_config(**overrides) -> EmotionTransformerConfig:
    return EmotionTransformerConfig(**_tiny_transformer_values(**overrides))


def tiny_trait_config(**overrides) -> TraitTransformerConfig:
    return TraitTransformerConfig(**_tiny_transformer_values(**overrides))


def tiny_fusion_config(**overrides) -> FaceFusionConfig:
    values = dict(
        embedder_config=tiny_emonext_config().to_dict(),
        emotion_config=tiny_emotion_config().to_dict(),
        trait_config=tiny_trait_config().to_dict(),
        num_fusion_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
    )
    return FaceFusionConfig(**{**values, **overrides})
