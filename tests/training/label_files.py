"""Writers of small label and embedding files in the datasets' real formats, shared by the training tests.

* CMU-MOSEI: the SDK's `CMU_MOSEI_Labels.csd` layout (HDF5 group "All Labels" with `data/<video>/features`,
  `data/<video>/intervals` and `metadata/<key>` as one JSON string, as the SDK's `write_CSD` stores it), the SDK's
  `cmu_mosei_std_folds.py` module text, and the original project's label CSVs.
* First Impressions V2: `annotation_*.pkl` dicts written with pickle protocol 2, and a byte-for-byte Python 2 style
  pickle (str keys as BINSTRING, numpy.core scalars), which Python 3 cannot produce by itself.
* Embedding tables: `save_to_disk` folders with the extraction's features.
"""

from __future__ import annotations

import csv
import json
import pickle
import struct
from pathlib import Path

import h5py
import numpy as np
from datasets import Dataset

from training.mosei_labels import CSD_STANDARD_DIMENSIONS
from training.tables import embedding_features

FIV2_PICKLE_TRAITS = ("extraversion", "neuroticism", "agreeableness", "conscientiousness", "interview", "openness")
MOSEI_CSV_HEADER = [
    "video_name", "Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "text", "Other",
]


def write_csd(
    path: Path,
    videos: dict[str, list[tuple[float, float, dict[str, float]]]],
    dimension_names: tuple[str, ...] | list[str] | None = CSD_STANDARD_DIMENSIONS,
    metadata_as: str = "json",
) -> Path:
    """Writes a CMU-MOSEI label .csd.

    Args:
        path: Output file.
        videos: Video id → segments as (start, end, {dimension name: value}); absent dimensions are 0.
        dimension_names: Column order; also stored as metadata unless `metadata_as` is "none".
        metadata_as: "json" (current SDK), "repr" (older SDK: `str(list)`), or "none" (no dimension names).
    """
    names = list(dimension_names or CSD_STANDARD_DIMENSIONS)
    with h5py.File(path, "w") as handle:
        root = handle.create_group("All Labels")
        data = root.create_group("data")
        for video, segments in videos.items():
            group = data.create_group(video)
            rows = [[values.get(name, 0.0) for name in names] for _, _, values in segments]
            features = np.array(rows, dtype=np.float32)
            intervals = np.array([[start, end] for start, end, _ in segments], dtype=np.float64)
            group.create_dataset("features", data=features.reshape(len(segments), len(names)))
            group.create_dataset("intervals", data=intervals.reshape(len(segments), 2))
        metadata = root.create_group("metadata")
        entries = {"root name": "All Labels", "computational sequence description": "Labels for CMU-MOSEI"}
        if metadata_as != "none":
            entries["dimension names"] = names
        for key, value in entries.items():
            text = json.dumps(value) if metadata_as == "json" else str(value)
            dataset = metadata.create_dataset(key, (1,), dtype=h5py.special_dtype(vlen=str))
            dataset[0] = text
    return path


def write_folds_py(path: Path, train: list[str], valid: list[str], test: list[str], marker: Path | None = None) -> Path:
    """Writes a `cmu_mosei_std_folds.py` like the SDK's; with `marker`, the module would create it if ever run."""
    lines = ["# Copyright 2018 The CMU-MultimodalSDK Contributers", "# fmt: off"]
    if marker is not None:
        lines.append(f"open({str(marker)!r}, 'w').write('the folds file was executed')")
    lines += [
        f"standard_train_fold = {train!r}",
        f"standard_valid_fold = {valid!r}",
        f"standard_test_fold = {test!r}",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_mosei_csv(path: Path, rows: list[tuple[str, list[float]]], header: list[str] = MOSEI_CSV_HEADER) -> Path:
    """Writes an original-project label CSV; each row is (video_name, 7 values in the header's emotion order)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for name, values in rows:
            extra = ["so, a text with a comma", 0][: len(header) - 8]
            writer.writerow([name, *values, *extra])
    return path


def fiv2_annotations(scores: dict[str, tuple[float, float, float, float, float]]) -> dict[str, dict[str, float]]:
    """The FIV2 pickle dict for clip → (O, C, E, A, N) scores; `interview` is set to 0.5 for every clip."""
    ocean = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")
    data: dict[str, dict[str, float]] = {trait: {} for trait in FIV2_PICKLE_TRAITS}
    for clip, values in scores.items():
        for trait, value in zip(ocean, values, strict=True):
            data[trait][f"{clip}.mp4"] = value
        data["interview"][f"{clip}.mp4"] = 0.5
    return data


def write_pickle(path: Path, obj: object) -> Path:
    """Writes a protocol-2 pickle, the newest protocol Python 2 could read and write."""
    with path.open("wb") as handle:
        pickle.dump(obj, handle, protocol=2)
    return path


def python2_pickle_bytes(obj: object) -> bytes:
    """Encodes dicts, str, float and np.float64 the way Python 2's cPickle (protocol 2) did.

    Python 2 `str` is a byte string (SHORT_BINSTRING), and a NumPy float64 is
    `numpy.core.multiarray.scalar(dtype('f8'), <8 raw bytes>)`, the layout real Python 2 label pickles hold.
    """

    def string(text: str | bytes) -> bytes:
        raw = text.encode("latin1") if isinstance(text, str) else text
        return b"U" + bytes([len(raw)]) + raw if len(raw) < 256 else b"T" + struct.pack("<i", len(raw)) + raw

    def encode(value: object) -> bytes:
        if isinstance(value, dict):
            body = b"".join(encode(k) + encode(v) for k, v in value.items())
            return b"}" + (b"(" + body + b"u" if value else b"")
        if isinstance(value, str):
            return string(value)
        if isinstance(value, np.float64):
            dtype = b"cnumpy\ndtype\n" + string("f8") + b"K\x00K\x01\x87R"
            state = b"(K\x03" + string("<") + b"NNN" + b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
            return b"cnumpy.core.multiarray\nscalar\n" + dtype + state + string(value.tobytes()) + b"\x86R"
        if isinstance(value, float):
            return b"G" + struct.pack(">d", value)
        raise TypeError(f"cannot encode {type(value).__name__}")

    return b"\x80\x02" + encode(obj) + b"."


class RunsShellCommand:
    """Unpickling this runs `os.system(command)`: the attack a label pickle from the internet can carry."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        import os

        return (os.system, (self.command,))


def write_embedding_table(
    folder: Path,
    video_ids: list[str],
    num_frames: int = 4,
    dim: int = 8,
    dtype: str = "float16",
    masks: list[list[int]] | None = None,
    seed: int = 0,
) -> Dataset:
    """Writes an extraction-style embedding table (random embeddings) with `save_to_disk` and returns it."""
    rng = np.random.default_rng(seed)
    if masks is None:
        masks = [[1] * (num_frames - 1) + [0] for _ in video_ids]
    table = Dataset.from_dict(
        {
            "video_id": video_ids,
            "embeddings": rng.standard_normal((len(video_ids), num_frames, dim)).astype(dtype),
            "attention_mask": masks,
        },
        features=embedding_features(num_frames, dim, dtype),
    )
    table.save_to_disk(str(folder))
    return table


def write_clip(path: Path, seconds: float, fps: int = 10, size: int = 32) -> Path:
    """Writes a small H.264 clip of the given length (grey frames), as a segment file of a dataset."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), 8 * (index % 30), np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path
