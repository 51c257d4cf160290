"""The `face-video-analysis` pipeline: a video (path, URL or bytes) in, emotions, traits and per-frame faces out.

```python
>>> from transformers import pipeline
>>> analyze = pipeline("face-video-analysis", model="org/face-fusion", trust_remote_code=True)
>>> result = analyze("clip.mp4", timeline_window=5)
>>> result["emotions"][0]  # the most likely emotion
{'label': 'happiness', 'score': 0.41}
```

All model logic between a video and the JSON result lives here (the web app only draws it): the processor's
stages (decode, faces, crop, normalise), the embedder run once per frame, the fusion for the whole clip and, for the
emotion timeline, the same fusion on the same embeddings with the frame mask restricted to each sliding window.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from PIL import Image
from transformers import Pipeline

from .face_detection import MIN_PERSON_FACE_FRACTION, MIN_PERSON_FRAMES
from .inference_batching import default_embed_batch_size
from .inference_precision import precision_autocast, precision_setting, resolve_precision
from .processing_face_video import FaceVideoProcessor, VideoDecodeError, opencv_on_one_thread
from .video_annotation import frame_emotions, write_annotated_video
from .weights_fingerprint import weights_fingerprint

logger = logging.getLogger(__name__)

TASK = "face-video-analysis"
# The task key the Hub repo's config.json registers this pipeline under (`custom_pipelines`): the Hub's snippet for
# a `pipeline_tag: video-classification` model is `pipeline("video-classification", model=..., trust_remote_code=True)`,
# and transformers takes a task found in `custom_pipelines` before its built-in one. It is the repo's only key, so
# `pipeline(model=...)` without a task picks it too. Locally (`import modeling`) the pipeline stays registered as
# TASK only: registering it as video-classification would replace transformers' own pipeline for every model.
HUB_TASK = "video-classification"
PROGRESS_STAGES = ("decode", "faces", "embed", "predict")
# Where each stage starts on the 0 -> 1 progress scale (embedding dominates on a CPU; detection is next).
_STAGE_START = {"decode": 0.0, "faces": 0.1, "embed": 0.3, "predict": 0.9}
_PREPROCESS_SHARE = _STAGE_START["embed"]
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
DOWNLOAD_TIMEOUT_S = 30.0
ProgressCallback = Callable[[str, float], Any]

_PREFETCH_THREAD = "face-video-prefetch"


class VideoDownloadError(VideoDecodeError):
    """A video URL that could not be fetched (unreachable, HTTP error, too large)."""


class FaceVideoAnalysisPipeline(Pipeline):
    """Emotions (7-way distribution) and apparent personality (OCEAN) of the person in a video.

    Load it with `pipeline("face-video-analysis", model=..., trust_remote_code=True)`. The face processor comes
    from the model repo's `preprocessor_config.json`; without one, a default processor sized from the model config
    (embedder crop size, longest frame sequence) is used.

    Construction arguments (besides the usual `model`, `device`):
        embed_batch_size (`int`, *optional*): Face crops embedded per forward pass. Defaults to 8 on the CPU
            (cache-friendly, see `inference_batching.py`) and 32 on a GPU (a 30-frame clip in one pass).
        precision (`str`, *optional*): "auto", "fp32" or "bf16": the embedder's compute precision (bf16 autocast or
            none). Defaults to `$FACE_FUSION_PRECISION`, else "auto": bf16 where the device computes it natively
            (CUDA, AVX-512 BF16 or AMX CPUs), fp32 elsewhere (see `inference_precision.py`). Can also be given per
            call.

    Call arguments:
        inputs: A video as a file path, an `http(s)://` URL or the file's bytes; or a list of them (one result each;
            `batch_size=` runs several videos through the model together).
        num_frames (`int`, *optional*): Frames sampled from the video (at most the model's `config.num_frames`).
            Defaults to the processor's.
        face_detector (`str`, *optional*): "auto", "face_alignment" or "haar". Defaults to the processor's ("auto":
            face-alignment, its weights fetched on first use; OpenCV's Haar cascade when they cannot be had).
        people (`str`, *optional*, defaults to "main"): "main" analyses the most prominent person; "all" also
            analyses every other person seen in at least `min_person_frames` sampled frames with a median face side
            of at least `min_face_fraction` of the frame's shorter side, each in `"people"`.
        min_person_frames (`int`, *optional*, defaults to 3): see `people`.
        min_face_fraction (`float`, *optional*, defaults to 0.05): see `people`.
        timeline_window (`int`, *optional*, defaults to 0): When > 0, adds `"timeline"`: the emotions of every
            window of that many consecutive sampled frames (windows without a face are left out).
        annotate (`str` or `os.PathLike`, *optional*): Writes an H.264 MP4 there (one video per call): the sampled
            frames with each analysed person's box, id and current top emotion (from the timeline, computed with a
            5-frame window if `timeline_window` is not given), and adds `"annotated_video"`: its path.
        return_face_crops (`bool`, *optional*, defaults to False): Adds `"face_crops"`, the PIL crops the model saw,
            and `"thumbnail"`, the crop of the person's largest face (not JSON-serialisable).
        precision (`str`, *optional*): "auto", "fp32" or "bf16" for this call. Defaults to the pipeline's.
        progress_callback (`Callable[[str, float], Any]`, *optional*): Called as `(stage, fraction)` when each
            stage starts ("decode", "faces", "embed" (once per embedded chunk), "predict") and with ("predict", 1.0)
            at the end. `fraction` is the share of the whole call done so far (over all videos of a list), never
            decreasing.

    Returns:
        A dict (a list of dicts for a list input) of plain JSON data: `emotions` (list of `{"label", "score"}`,
        most likely first), `traits` ({name: score in [0, 1]} in OCEAN order), `frames` (per sampled frame: `index`
        in the video, `timestamp` in seconds, face `box` [x1, y1, x2, y2] in pixels or None, `face_found`),
        `timeline` (only with `timeline_window`), `video` (`duration`, `fps`, `width`, `height`,
        `num_frames_sampled`, `faces_found`: the sampled frames the person was seen in (the others add nothing to
        the result), and `frames_repeated` and `frames_missing`: how many samples repeat the previous sample's
        frame, and how many stand in for a frame the decoder could not give), `detector` ("face_alignment" or
        "haar": what found the faces), `precision` ("fp32" or "bf16", what the embedder ran at) and `model`
        (`name_or_path`,
        `revision`, `embedder_weights_sha256`). With `people="all"`, `people`: one entry per person, most prominent
        first (the first is the person of the top-level result), each with `id`, `emotions`, `traits`, `frames`,
        `frames_seen`, `thumbnail_frame` (the position in `frames` of that person's largest face) and `timeline`
        when asked for; with `return_face_crops`, also `face_crops` and `thumbnail` (PIL images).

    Raises:
        VideoDecodeError: Missing, empty, non-video, truncated or undownloadable input (message names the file).
        NoFaceFoundError: No sampled frame shows a face.
        ValueError: An option out of range, e.g. more frames than the model accepts.
    """

    # The processor is ours (FaceVideoProcessor); none of the generic loaders applies.
    _load_processor = False
    _load_image_processor = False
    _load_video_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False

    def __init__(self, model, processor: FaceVideoProcessor | str | os.PathLike | None = None, **kwargs):
        # `pipeline(..., local_files_only=True)` passes it on to here: the processor must come from the cache too.
        local_files_only = bool(kwargs.pop("local_files_only", False))
        if processor is None:
            processor = load_processor_for(model, local_files_only)
        elif isinstance(processor, (str, os.PathLike)):
            processor = FaceVideoProcessor.from_pretrained(processor)
        embedder_size = model.config.embedder_config.image_size
        if processor.image_size != embedder_size:
            raise ValueError(
                f"the processor crops {processor.image_size}-pixel faces but the model's embedder expects "
                f"{embedder_size}-pixel crops."
            )
        if processor.num_frames > model.config.num_frames:
            raise ValueError(
                f"the processor samples {processor.num_frames} frames but the model accepts at most "
                f"{model.config.num_frames}."
            )
        embed_batch_size = kwargs.pop("embed_batch_size", None)
        precision = kwargs.pop("precision", None)  # None: $FACE_FUSION_PRECISION, else "auto"
        super().__init__(model=model, processor=processor, **kwargs)
        self.precision = resolve_precision(precision, self.device)  # "fp32" | "bf16", recorded in every result
        if embed_batch_size is None:
            embed_batch_size = default_embed_batch_size(self.device, 32)  # on a GPU, a 30-frame clip in one pass
        if int(embed_batch_size) < 1:
            raise ValueError(f"embed_batch_size must be at least 1, got {embed_batch_size}.")
        self.embed_batch_size = int(embed_batch_size)
        self.model.eval()  # dropout off: the same video always gives the same result
        self.model.embedder.to(memory_format=torch.channels_last)  # faster convolutions on CPU and GPU
        self.revision = loaded_revision(self.model.name_or_path)
        self._processors: dict[tuple[int, str], FaceVideoProcessor] = {}
        self._thread_processors = threading.local()  # the prefetch threads' own processors
        self._embedder_fingerprint: str | None = None

    @property
    def embedder_fingerprint(self) -> str:
        """SHA-256 of the embedder's weights (computed on first use: about a second for EmoNeXt-Base)."""
        if self._embedder_fingerprint is None:
            self._embedder_fingerprint = weights_fingerprint(self.model.embedder)
        return self._embedder_fingerprint

    # ------------------------------------------------------------------------------------------------ parameters

    def _sanitize_parameters(
        self,
        num_frames: int | None = None,
        face_detector: str | None = None,
        timeline_window: int | None = None,
        return_face_crops: bool | None = None,
        annotate: str | os.PathLike | None = None,
        precision: str | None = None,
        progress_callback: ProgressCallback | None = None,
        people: str | None = None,
        min_person_frames: int | None = None,
        min_face_fraction: float | None = None,
        **unknown,
    ):
        if unknown:
            raise TypeError(f"unknown argument(s) for the {TASK} pipeline: {', '.join(sorted(unknown))}.")
        preprocess, forward, postprocess = {}, {}, {}
        if num_frames is not None:
            max_frames = self.model.config.num_frames
            if not isinstance(num_frames, (int, np.integer)) or not 1 <= num_frames <= max_frames:
                raise ValueError(
                    f"num_frames must be an integer from 1 to {max_frames} (this model's limit), not {num_frames!r}."
                )
            preprocess["num_frames"] = int(num_frames)
        if face_detector is not None:
            preprocess["face_detector"] = face_detector
        if people is not None:
            if people not in ("main", "all"):
                raise ValueError(f"people must be 'main' or 'all', not {people!r}.")
            preprocess["people"] = people
        if min_person_frames is not None:
            if not isinstance(min_person_frames, (int, np.integer)) or min_person_frames < 1:
                raise ValueError(f"min_person_frames must be an integer >= 1, not {min_person_frames!r}.")
            preprocess["min_person_frames"] = int(min_person_frames)
        if min_face_fraction is not None:
            if not isinstance(min_face_fraction, (int, float)) or not 0 <= min_face_fraction <= 1:
                raise ValueError(f"min_face_fraction must be a number from 0 to 1, not {min_face_fraction!r}.")
            preprocess["min_face_fraction"] = float(min_face_fraction)
        if timeline_window is not None:
            if not isinstance(timeline_window, (int, np.integer)) or timeline_window < 0:
                raise ValueError(f"timeline_window must be an integer >= 0, not {timeline_window!r}.")
            forward["timeline_window"] = int(timeline_window)
        if return_face_crops is not None:
            preprocess["return_face_crops"] = postprocess["return_face_crops"] = bool(return_face_crops)
        if annotate is not None:
            preprocess["keep_frames"] = True
            postprocess["annotate"] = os.fspath(annotate)
            # The current emotion drawn per frame comes from the timeline: one is computed if none was asked for.
            forward["timeline_window"] = forward.get("timeline_window") or min(5, self.model.config.num_frames)
        if precision is not None:
            forward["precision"] = resolve_precision(precision_setting(precision), self.device)
        if progress_callback is not None:
            preprocess["progress_callback"] = forward["progress_callback"] = progress_callback
            postprocess["progress_callback"] = progress_callback
        return preprocess, forward, postprocess

    def processor_for(self, num_frames: int | None = None, face_detector: str | None = None) -> FaceVideoProcessor:
        """The processor with a call's frame count and detector (built once per combination, detector reused).

        A prefetch thread gets its own copies, freed with the thread: a detector (an OpenCV cascade, torch networks)
        is never used by two threads at once.
        """
        base = self.processor
        key = (num_frames or base.num_frames, face_detector or base.face_detector)
        on_prefetch_thread = threading.current_thread().name.startswith(_PREFETCH_THREAD)
        if key == (base.num_frames, base.face_detector) and not on_prefetch_thread:
            return base
        if on_prefetch_thread:
            processors = self._thread_processors.__dict__.setdefault("processors", {})
        else:
            processors = self._processors
        if key not in processors:
            settings = {k: v for k, v in base.to_dict().items() if k not in ("image_processor_type", "auto_map")}
            settings.update(num_frames=key[0], face_detector=key[1])
            processors[key] = type(base)(**settings)
        return processors[key]

    # ------------------------------------------------------------------------------------------------ calling

    def __call__(self, inputs, **kwargs):
        """Analyse one video, or a list of videos (see the class docstring)."""
        if isinstance(inputs, (list, tuple)):
            return self._run_list(list(inputs), **kwargs)
        return super().__call__(inputs, **kwargs)

    def _run_list(self, videos: list, batch_size: int | None = None, num_workers: int | None = None, **kwargs):
        """Videos in chunks of `batch_size`: each chunk's face crops go through the model together.

        The next videos are decoded and their faces found on `num_workers` threads meanwhile (see `iter_results`).
        The first video that fails raises its error, as a single call would.
        """
        results = []
        for _, result in self.iter_results(videos, batch_size=batch_size, num_workers=num_workers, **kwargs):
            if isinstance(result, BaseException):
                raise result
            results.append(result)
        return results

    def iter_results(
        self, videos, batch_size: int | None = None, num_workers: int | None = None, **kwargs
    ) -> Iterator[tuple[Any, dict[str, Any] | Exception]]:
        """Analyse many videos, overlapping each one's decoding and face finding with the embedding of the previous.

        `num_workers` threads decode and find the faces of the next videos (two each at most, in order) while the
        model embeds the current chunk; decoders, OpenCV and torch release the GIL, and each thread has its own
        detector. So on a CPU the front end hides behind the embedder, and a GPU is not left waiting for it. With a
        `progress_callback`, videos are prepared one by one on the calling thread instead, so the reports stay in
        order and on that thread.

        Args:
            videos: Paths, URLs or bytes (any iterable; read lazily).
            batch_size: Videos whose crops go through the model together (default: the pipeline's, else 1).
            num_workers: Threads preparing videos ahead (default: 1 on a CPU, whose cores the embedder needs; on a GPU
                the free cores, at most 8). 0 prepares each video when it is needed.
            **kwargs: The call arguments of the class docstring.

        Yields:
            `(video, result)` in input order; `result` is the video's dict, or the exception it raised (a
            `FaceVideoError` for bad input) so one bad file does not end a long run.
        """
        batch_size = int(batch_size or self._batch_size or 1)
        pre, fwd, post = self._sanitize_parameters(**kwargs)
        pre = {**self._preprocess_params, **pre}
        fwd = {**self._forward_params, **fwd}
        post = {**self._postprocess_params, **post}
        callback = pre.pop("progress_callback", None)  # rescaled per video below, onto the whole list's progress
        fwd.pop("progress_callback", None)
        post.pop("progress_callback", None)
        if "annotate" in post:
            raise ValueError("annotate= writes one annotated clip, so it takes one video, not a list.")
        if callback is not None:
            videos = list(videos)
            num_workers = 0
        if num_workers is None:
            num_workers = default_prefetch_workers(self.device)
        if num_workers:
            opencv_on_one_thread()  # a front end overlapping the embedder pays in core-seconds (processing_face_video)
        total = max(len(videos), 1) if callback is not None else 1
        share = _PREPROCESS_SHARE

        def prepare(j: int, video) -> dict[str, Any]:
            # On the list's scale (times `total`), video j of the chunk from `start` preprocesses in
            # [start + s (j - start), start + s (j - start + 1)) with s the preprocessing share; the chunk's embed and
            # predict then go on up to start + len(chunk).
            start = j - j % batch_size
            progress = _rescaled(callback, start + share * (j - start), 1, total)
            return self.preprocess(video, **pre, progress_callback=progress)

        prepared = _prefetched(videos, prepare, int(num_workers))
        chunk: list[tuple[int, Any, dict | Exception]] = []
        for index, video, item in prepared:
            chunk.append((index, video, item))
            if len(chunk) == batch_size:
                yield from self._finish_chunk(chunk, fwd, post, callback, total)
                chunk = []
        if chunk:
            yield from self._finish_chunk(chunk, fwd, post, callback, total)

    def _finish_chunk(self, chunk, fwd, post, callback, total) -> Iterator[tuple[Any, dict[str, Any] | Exception]]:
        """Embed and predict one chunk of prepared videos together; failed ones pass through as their error."""
        good = [(video, item) for _, video, item in chunk if not isinstance(item, BaseException)]
        results: dict[int, dict | Exception] = {}
        if good:
            first = chunk[0][0]
            chunk_progress = _rescaled(callback, first, len(chunk), total)
            try:
                items = [item for _, item in good]
                outputs = self.forward(_collate(items), **fwd, progress_callback=chunk_progress)
                first_rows = np.cumsum([0] + [len(item["pixel_values"]) for item in items])  # a row per person
                rows = [
                    self.postprocess(
                        _select(outputs, first_rows[i], first_rows[i + 1], i), **post, progress_callback=chunk_progress
                    )
                    for i in range(len(good))
                ]
            except Exception as error:  # noqa: BLE001 - e.g. out of memory: every video of the chunk failed
                rows = [error] * len(good)
            results = dict(zip((id(item) for _, item in good), rows, strict=True))
        for _, video, item in chunk:
            yield video, item if isinstance(item, BaseException) else results[id(item)]

    # ------------------------------------------------------------------------------------------------ stages

    def preprocess(
        self,
        video,
        num_frames: int | None = None,
        face_detector: str | None = None,
        return_face_crops: bool = False,
        progress_callback: ProgressCallback | None = None,
        people: str = "main",
        min_person_frames: int = MIN_PERSON_FRAMES,
        min_face_fraction: float = MIN_PERSON_FACE_FRACTION,
        keep_frames: bool = False,
    ) -> dict[str, Any]:
        """Decode, find the faces, crop and normalise: the processor's stages, one at a time for progress reports.

        One batch row per person analysed (the main person first), all of one video.
        """
        processor = self.processor_for(num_frames, face_detector)
        report = progress_callback or _ignore

        def on_stage(stage: str):
            if stage in _STAGE_START:  # the processor's "crop" is part of the pipeline's "faces" stage
                report(stage, _STAGE_START[stage])

        with _local_video(video) as local:
            faces = processor.extract_faces(
                local,
                on_stage,
                people,
                min_person_frames=min_person_frames,
                min_face_fraction=min_face_fraction,
                return_frames=keep_frames,
            )
        persons = faces.get("people") or [{"person_id": 0, **faces}]
        info = {
            "persons": [
                {
                    "id": int(person["person_id"]),
                    "boxes": np.asarray(person["boxes"], dtype=np.float64),
                    "face_found": np.asarray(person["face_found"], dtype=bool),
                    **({"face_crops": [Image.fromarray(c) for c in person["crops"]]} if return_face_crops else {}),
                }
                for person in persons
            ],
            "all_people": people == "all",
            "detector": faces["detector"],
            "timestamps": np.asarray(faces["timestamps"], dtype=np.float64),
            "frame_indices": np.asarray(faces["frame_indices"], dtype=np.int64),
            **{
                key: faces[key]
                for key in (
                    "fps", "duration", "width", "height", "frames_repeated", "frames_missing", "frame_scale",
                )
            },
        }
        if keep_frames:
            info["frames"] = faces["frames"]
        return {
            "pixel_values": torch.stack([processor.normalize(person["crops"]) for person in persons]),
            "attention_mask": torch.from_numpy(np.stack([p["face_found"] for p in persons]).astype(np.int64)),
            "info": [info],
        }

    def _forward(
        self,
        model_inputs: dict[str, Any],
        timeline_window: int = 0,
        precision: str | None = None,
        progress_callback: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Embed every frame once, then run the fusion on the clip (and on each timeline window)."""
        report = progress_callback or _ignore
        precision = precision or self.precision
        pixel_values = model_inputs["pixel_values"].to(self.model.dtype)
        attention_mask = model_inputs["attention_mask"]
        batch_size, num_frames = attention_mask.shape
        flat = pixel_values.flatten(0, 1).contiguous(memory_format=torch.channels_last)
        chunks = []
        embed_start, embed_span = _STAGE_START["embed"], _STAGE_START["predict"] - _STAGE_START["embed"]
        with precision_autocast(precision, self.device):
            for start in range(0, len(flat), self.embed_batch_size):  # in chunks: progress reports, bounded memory
                report("embed", embed_start + embed_span * start / len(flat))
                chunk = flat[start : start + self.embed_batch_size].unsqueeze(0)
                chunks.append(self.model.embed_frames(chunk)[0].float())
        embeddings = torch.cat(chunks).view(batch_size, num_frames, -1)

        report("predict", _STAGE_START["predict"])
        output = self.model(frame_embeddings=embeddings, attention_mask=attention_mask)
        result = {
            "emotion_probs": output.emotion_probs.float(),
            "traits": output.trait_logits.float(),
            "info": model_inputs["info"],
            "precision": [precision] * batch_size,
        }
        if timeline_window > 0:
            result.update(self._timeline(embeddings, attention_mask, min(timeline_window, num_frames)))
        return result

    def _timeline(self, embeddings: torch.Tensor, attention_mask: torch.Tensor, window: int) -> dict[str, torch.Tensor]:
        """Emotions of each window of `window` consecutive frames: one batched fusion pass, the mask cut per window.

        Returns `timeline_probs` (batch, windows, emotions) and `timeline_valid` (batch, windows): False where the
        window holds no face (its row is meaningless and is dropped from the result).
        """
        batch_size, num_frames, _ = embeddings.shape
        num_windows = num_frames - window + 1
        frames = torch.arange(num_frames)
        starts = torch.arange(num_windows)
        in_window = (frames[None, :] >= starts[:, None]) & (frames[None, :] < starts[:, None] + window)
        masks = in_window[None].to(attention_mask.device) & attention_mask.bool()[:, None, :]  # (B, W, T)
        valid = masks.any(dim=-1)
        repeated = embeddings[:, None].expand(batch_size, num_windows, num_frames, embeddings.shape[-1])
        output = self.model(
            frame_embeddings=repeated.reshape(batch_size * num_windows, num_frames, -1),
            attention_mask=masks.reshape(batch_size * num_windows, num_frames).long(),
        )
        probs = output.emotion_probs.float().view(batch_size, num_windows, -1)
        window_sizes = torch.full((batch_size,), window)
        return {"timeline_probs": probs, "timeline_valid": valid, "timeline_window": window_sizes}

    def postprocess(
        self,
        model_outputs: dict[str, Any],
        return_face_crops: bool = False,
        progress_callback: ProgressCallback | None = None,
        annotate: str | None = None,
    ) -> dict[str, Any]:
        """Tensors of one video (one row per person) -> the JSON-able result."""
        info = model_outputs["info"][0]
        rows = range(len(info["persons"]))
        analyses = [self._person_result(model_outputs, row, info, return_face_crops) for row in rows]
        main = analyses[0]
        result: dict[str, Any] = {key: main[key] for key in ("emotions", "traits", "frames")}
        if "timeline" in main:
            result["timeline"] = main["timeline"]
        result["video"] = {
            "duration": float(info["duration"]),
            "fps": float(info["fps"]),
            "width": int(info["width"]),
            "height": int(info["height"]),
            "num_frames_sampled": len(main["frames"]),
            "faces_found": main["frames_seen"],
            "frames_repeated": int(info["frames_repeated"]),
            "frames_missing": int(info["frames_missing"]),
        }
        result["detector"] = info["detector"]
        result["precision"] = model_outputs["precision"][0]
        result["model"] = {
            "name_or_path": str(self.model.name_or_path),
            "revision": self.revision,
            "embedder_weights_sha256": self.embedder_fingerprint,
        }
        if return_face_crops:
            result["face_crops"], result["thumbnail"] = main["face_crops"], main["thumbnail"]
        if info["all_people"]:
            result["people"] = analyses
        if annotate is not None:
            result["annotated_video"] = str(self._write_annotated(annotate, info, analyses))
        if progress_callback is not None:
            progress_callback("predict", 1.0)
        return result

    def _write_annotated(self, path: str, info: dict, analyses: list[dict]) -> str:
        """The annotated H.264 clip of one video (every person analysed, their top emotion per frame)."""
        timestamps = info["timestamps"].tolist()
        people = [
            {**person, "labels": frame_emotions(analysis.get("timeline"), timestamps)}
            for person, analysis in zip(info["persons"], analyses, strict=True)
        ]
        return write_annotated_video(path, info["frames"], people, info["frame_scale"], info["duration"])

    def _person_result(self, model_outputs: dict[str, Any], row: int, info: dict, return_face_crops: bool) -> dict:
        """One person's emotions, traits, frames (and timeline, crops) from their row of the model outputs."""
        person = info["persons"][row]
        emotion_labels = _labels(self.model.config.emotion_config)
        trait_labels = _labels(self.model.config.trait_config)
        probs = model_outputs["emotion_probs"][row].tolist()
        traits = model_outputs["traits"][row].clamp(0.0, 1.0).tolist()
        found = person["face_found"].tolist()
        boxes = person["boxes"]
        areas = [(b[2] - b[0]) * (b[3] - b[1]) if face else -1.0 for b, face in zip(boxes, found, strict=True)]
        result: dict[str, Any] = {
            "id": person["id"],
            "emotions": sorted(
                ({"label": label, "score": score} for label, score in zip(emotion_labels, probs, strict=True)),
                key=lambda item: item["score"],
                reverse=True,
            ),
            "traits": dict(zip(trait_labels, traits, strict=True)),
            "frames": [
                {
                    "index": int(index),
                    "timestamp": float(timestamp),
                    "box": [round(float(v), 2) for v in box] if face else None,
                    "face_found": bool(face),
                }
                for index, timestamp, box, face in zip(
                    info["frame_indices"], info["timestamps"], person["boxes"], found, strict=True
                )
            ],
            "frames_seen": int(sum(found)),
            "thumbnail_frame": int(np.argmax(areas)),
        }
        if "timeline_probs" in model_outputs:
            window = int(model_outputs["timeline_window"][row])
            timestamps = info["timestamps"]
            result["timeline"] = [
                {
                    "timestamp": float(timestamps[start : start + window].mean()),
                    "emotions": dict(zip(emotion_labels, values, strict=True)),
                }
                for start, (values, valid) in enumerate(
                    zip(
                        model_outputs["timeline_probs"][row].tolist(),
                        model_outputs["timeline_valid"][row].tolist(),
                        strict=True,
                    )
                )
                if valid
            ]
        if return_face_crops:
            result["face_crops"] = person["face_crops"]
            result["thumbnail"] = person["face_crops"][result["thumbnail_frame"]]
        return result


# -------------------------------------------------------------------------------------------------- loading


def load_processor_for(model, local_files_only: bool = False) -> FaceVideoProcessor:
    """The `FaceVideoProcessor` saved beside the model, or a default one sized from the model's config."""
    source = getattr(model, "name_or_path", "") or ""
    if source:
        try:
            revision = loaded_revision(source) or "main"
            return FaceVideoProcessor.from_pretrained(source, revision=revision, local_files_only=local_files_only)
        except OSError:  # no preprocessor_config.json in that repo or folder
            pass
    config = model.config
    logger.warning(
        "No preprocessor_config.json beside the model (%s): using a default FaceVideoProcessor for %d frames of %d px.",
        source or "in memory",
        config.num_frames,
        config.embedder_config.image_size,
    )
    return FaceVideoProcessor(num_frames=config.num_frames, image_size=config.embedder_config.image_size)


def loaded_revision(name_or_path: str) -> str | None:
    """The commit a Hub model was loaded from (read from the local cache), or None for a local folder."""
    if not name_or_path or os.path.isdir(name_or_path):
        return None
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(name_or_path, "config.json")
    except Exception:  # noqa: BLE001 - not a valid repo id, or no cache: the revision is simply unknown
        return None
    if isinstance(cached, str):
        parts = os.path.normpath(cached).split(os.sep)
        if len(parts) >= 3 and parts[-3] == "snapshots":
            return parts[-2]
    return None


# -------------------------------------------------------------------------------------------------- inputs


@contextmanager
def _local_video(video):
    """A path or bytes the processor can read; URLs are downloaded to a temporary file named like the URL's file."""
    if isinstance(video, str) and urllib.parse.urlparse(video).scheme in ("http", "https"):
        with tempfile.TemporaryDirectory(prefix="face_video_") as folder:
            yield download_video(video, folder)
    elif isinstance(video, (str, os.PathLike, bytes, bytearray, memoryview)):
        yield bytes(video) if isinstance(video, (bytearray, memoryview)) else video
    else:
        raise TypeError(f"a video must be a file path, an http(s) URL or bytes, not {type(video).__name__}.")


def download_video(
    url: str, folder: str, max_bytes: int = MAX_DOWNLOAD_BYTES, timeout: float = DOWNLOAD_TIMEOUT_S
) -> str:
    """Download `url` into `folder`, refusing more than `max_bytes`.

    Returns:
        The downloaded file's path (named like the URL's last path segment).

    Raises:
        VideoDownloadError: Unreachable host, HTTP error, timeout, or a file over the size limit.
    """
    name = os.path.basename(urllib.parse.urlparse(url).path) or "video"
    path = os.path.join(folder, name)
    request = urllib.request.Request(url, headers={"User-Agent": "face-fusion-pipeline"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, open(path, "wb") as file:
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise VideoDownloadError(f"{url} is larger than the {max_bytes // 2**20} MiB download limit.", url)
            received = 0
            while chunk := response.read(1 << 20):
                received += len(chunk)
                if received > max_bytes:
                    raise VideoDownloadError(f"{url} is larger than the {max_bytes // 2**20} MiB download limit.", url)
                file.write(chunk)
    except urllib.error.HTTPError as error:
        reason = f"the server answered {error.code} {error.reason}"
        raise VideoDownloadError(f"{url} could not be downloaded: {reason}.", url) from error
    except urllib.error.URLError as error:
        raise VideoDownloadError(f"{url} could not be downloaded: {_reason(error.reason)}.", url) from error
    except OSError as error:  # timeouts, resets, a full disk
        raise VideoDownloadError(f"{url} could not be downloaded: {_reason(error)}.", url) from error
    return path


def _reason(error: object) -> str:
    """An exception (or a reason string) as the end of a sentence: "connection refused", "timed out"."""
    text = (getattr(error, "strerror", None) or str(error) or type(error).__name__).strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


# -------------------------------------------------------------------------------------------------- helpers


def _labels(config) -> list[str]:
    """Label names in index order."""
    return [config.id2label[i] for i in range(len(config.id2label))]


def _ignore(stage: str, fraction: float) -> None:
    """The progress callback when none is given."""


def _rescaled(callback: ProgressCallback | None, offset: float, span: int, total: int) -> ProgressCallback | None:
    """Map one unit's 0 -> 1 progress onto a list's scale: `(offset + span * fraction) / total`."""
    if callback is None:
        return None
    return lambda stage, fraction: callback(stage, min(1.0, (offset + span * fraction) / total))


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one: a container's share)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def default_prefetch_workers(device: torch.device | str) -> int:
    """Threads preparing videos ahead: 1 on a CPU (the embedder needs the cores), else the free cores, at most 8."""
    if torch.device(device).type == "cpu":
        return 1
    return max(1, min(8, usable_cores() - 1))


def _prefetched(videos: Iterable, prepare: Callable[[int, Any], dict], workers: int) -> Iterator[tuple[int, Any, Any]]:
    """`(index, video, prepare(index, video) or the exception it raised)` in input order, prepared on `workers` threads.

    At most two videos per thread are in preparation or waiting, so memory stays bounded on any number of videos.
    """

    def attempt(index: int, video) -> Any:
        try:
            return prepare(index, video)
        except Exception as error:  # noqa: BLE001 - handed to the caller with its video, not raised on the thread
            return error

    if workers < 1:
        for index, video in enumerate(videos):
            yield index, video, attempt(index, video)
        return
    queued = iter(enumerate(videos))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=_PREFETCH_THREAD) as pool:
        waiting = collections.deque()
        for index, video in itertools.islice(queued, 2 * workers):
            waiting.append((index, video, pool.submit(attempt, index, video)))
        while waiting:
            index, video, future = waiting.popleft()
            for next_index, next_video in itertools.islice(queued, 1):
                waiting.append((next_index, next_video, pool.submit(attempt, next_index, next_video)))
            yield index, video, future.result()


def _collate(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Preprocessed videos (each a batch of one, same frame count) as one batch."""
    return {
        "pixel_values": torch.cat([item["pixel_values"] for item in items]),
        "attention_mask": torch.cat([item["attention_mask"] for item in items]),
        "info": [info for item in items for info in item["info"]],
    }


def _select(outputs: dict[str, Any], first_row: int, stop_row: int, video: int) -> dict[str, Any]:
    """One video's rows (one per person) of a batched forward output, with that video's `info`."""
    first_row, stop_row = int(first_row), int(stop_row)
    selected = {key: value[first_row:stop_row] if torch.is_tensor(value) else value for key, value in outputs.items()}
    selected["info"] = [outputs["info"][video]]
    return selected


__all__ = [
    "TASK", "HUB_TASK", "FaceVideoAnalysisPipeline", "VideoDownloadError", "download_video", "load_processor_for"
]
