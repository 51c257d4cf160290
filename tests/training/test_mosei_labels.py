"""CMU-MOSEI labels from the SDK's .csd + folds files and from the original project's CSVs."""

import json

import numpy as np
import pytest

from modeling.configuration_face_transformer import EMOTION_LABELS
from tests.training.label_files import write_csd, write_folds_py, write_mosei_csv
from training.mosei_labels import (
    MoseiLabelError,
    MoseiLabelIndex,
    MoseiSegment,
    emotion_distribution,
    hold_out_validation,
    parse_interval_id,
    read_mosei_csd,
    read_mosei_csv,
    read_mosei_folds,
    split_by_folds,
)

# Video ids as MOSEI has them: underscores and dashes inside YouTube ids, and bare numbers.
VIDEOS = {
    "GdFP_p4eQX0": [
        (0.0, 4.5, {"sentiment": 1.0, "happy": 1.0, "sad": 0.0}),
        (4.5, 9.0, {"sentiment": -2.0}),  # no emotion → neutral
    ],
    "-3g5yACwYnA": [(82.753, 100.555, {"fear": 1 / 3, "happy": 2 / 3, "sad": 2 / 3})],
    "81406": [(1.0, 2.0, {"anger": 3.0, "disgust": 1.0})],
}


def _index(name: str) -> int:
    return EMOTION_LABELS.index(name)


def test_emotion_distribution_follows_the_original_rule():
    assert emotion_distribution({}) == (1.0, 0, 0, 0, 0, 0, 0)
    mixed = emotion_distribution({"fear": 1 / 3, "happiness": 2 / 3, "sadness": 2 / 3})
    assert mixed[_index("neutral")] == 0.0
    assert mixed[_index("fear")] == pytest.approx(0.2)
    assert mixed[_index("happiness")] == pytest.approx(0.4)
    assert mixed[_index("sadness")] == pytest.approx(0.4)
    assert sum(mixed) == pytest.approx(1.0)


def test_csd_segments_get_canonical_ids_intervals_and_distributions(tmp_path):
    segments = read_mosei_csd(write_csd(tmp_path / "CMU_MOSEI_Labels.csd", VIDEOS))
    by_id = {segment.video_id: segment for segment in segments}
    assert sorted(by_id) == ["-3g5yACwYnA_0", "81406_0", "GdFP_p4eQX0_0", "GdFP_p4eQX0_1"]
    first = by_id["GdFP_p4eQX0_0"]
    assert (first.source_video, first.segment_index, first.start, first.end) == ("GdFP_p4eQX0", 0, 0.0, 4.5)
    assert first.emotions[_index("happiness")] == pytest.approx(1.0)
    assert by_id["GdFP_p4eQX0_1"].emotions == (1.0, 0, 0, 0, 0, 0, 0)
    anger = by_id["81406_0"].emotions
    assert anger[_index("anger")] == pytest.approx(0.75) and anger[_index("disgust")] == pytest.approx(0.25)
    assert by_id["-3g5yACwYnA_0"].emotions[_index("fear")] == pytest.approx(0.2)


def test_csd_columns_are_found_by_their_dimension_names(tmp_path):
    # Same values, columns stored in another order: the metadata names decide, not the position.
    shuffled = ["fear", "sentiment", "disgust", "surprise", "anger", "sad", "happy"]
    standard = read_mosei_csd(write_csd(tmp_path / "standard.csd", VIDEOS))
    reordered = read_mosei_csd(write_csd(tmp_path / "reordered.csd", VIDEOS, dimension_names=shuffled))
    assert [s.emotions for s in reordered] == [s.emotions for s in standard]
    # The older SDK wrote str(list) instead of JSON.
    old_style = read_mosei_csd(write_csd(tmp_path / "old.csd", VIDEOS, dimension_names=shuffled, metadata_as="repr"))
    assert [s.emotions for s in old_style] == [s.emotions for s in standard]


def test_csd_without_dimension_names_uses_the_sdk_order(tmp_path):
    no_names = read_mosei_csd(write_csd(tmp_path / "plain.csd", VIDEOS, metadata_as="none"))
    assert [s.emotions for s in no_names] == [s.emotions for s in read_mosei_csd(write_csd(tmp_path / "a.csd", VIDEOS))]


def test_bad_csd_files_stop_with_the_file_named(tmp_path):
    not_hdf5 = tmp_path / "labels.csd"
    not_hdf5.write_text("video,happy\n")
    with pytest.raises(MoseiLabelError, match=r"labels\.csd: not an HDF5 \.csd file"):
        read_mosei_csd(not_hdf5)
    with pytest.raises(MoseiLabelError, match="no such CMU-MOSEI .csd file"):
        read_mosei_csd(tmp_path / "missing.csd")
    negative = write_csd(tmp_path / "negative.csd", {"v1": [(0.0, 1.0, {"sad": -1.0})]})
    with pytest.raises(MoseiLabelError, match=r"segment v1\[0\] has an invalid sadness intensity"):
        read_mosei_csd(negative)
    unnamed = write_csd(tmp_path / "unnamed.csd", VIDEOS, dimension_names=["a", "b", "c", "d", "e", "f", "g"])
    with pytest.raises(MoseiLabelError, match="lack the emotion"):
        read_mosei_csd(unnamed)


def test_folds_are_read_from_the_sdk_module_without_running_it(tmp_path):
    marker = tmp_path / "executed.txt"
    folds_file = write_folds_py(
        tmp_path / "cmu_mosei_std_folds.py", ["a", "GdFP_p4eQX0"], ["81406"], ["-3g5yACwYnA"], marker
    )
    folds = read_mosei_folds(folds_file)
    assert folds == {"train": {"a", "GdFP_p4eQX0"}, "validation": {"81406"}, "test": {"-3g5yACwYnA"}}
    assert not marker.exists()


def test_folds_from_json_and_their_errors(tmp_path):
    json_file = tmp_path / "folds.json"
    json_file.write_text(json.dumps({"train": ["a"], "valid": ["b"], "test": ["c"]}))
    assert read_mosei_folds(json_file) == {"train": {"a"}, "validation": {"b"}, "test": {"c"}}
    json_file.write_text(json.dumps({"train": ["a"], "test": ["c"]}))
    with pytest.raises(MoseiLabelError, match="no validation fold found"):
        read_mosei_folds(json_file)
    overlap = write_folds_py(tmp_path / "overlap.py", ["a", "b"], ["b"], ["c"])
    with pytest.raises(MoseiLabelError, match="'b' is in both the train and the validation fold"):
        read_mosei_folds(overlap)
    computed = tmp_path / "computed.py"
    computed.write_text("standard_train_fold = load()\nstandard_valid_fold = []\nstandard_test_fold = []\n")
    with pytest.raises(MoseiLabelError, match="not a literal list"):
        read_mosei_folds(computed)


def test_split_by_folds_sets_aside_videos_in_no_fold(tmp_path):
    segments = read_mosei_csd(write_csd(tmp_path / "labels.csd", VIDEOS))
    splits, outside = split_by_folds(segments, {"train": {"GdFP_p4eQX0"}, "validation": {"81406"}, "test": set()})
    assert [s.video_id for s in splits["train"]] == ["GdFP_p4eQX0_0", "GdFP_p4eQX0_1"]
    assert [s.video_id for s in splits["validation"]] == ["81406_0"]
    assert splits["test"] == [] and [s.video_id for s in outside] == ["-3g5yACwYnA_0"]


def test_original_csv_rows_are_renormalised_and_named_by_interval(tmp_path):
    rows = [
        ("-3g5yACwYnA_82.7645_100.5550", [0, 0, 0, 1 / 3, 2 / 3, 2 / 3, 0]),  # intensities, not yet a distribution
        ("GdFP_p4eQX0_0.0000_4.5000", [0, 0, 0, 0, 0, 0, 0]),  # nothing at all → neutral
        ("81406_1.0000_2.0000", [0, 0.75, 0.25, 0, 0, 0, 0]),
    ]
    segments = read_mosei_csv(write_mosei_csv(tmp_path / "train_full.csv", rows))
    first = segments[0]
    assert (first.video_id, first.source_video, first.start, first.end) == (
        "-3g5yACwYnA_82.7645_100.5550", "-3g5yACwYnA", 82.7645, 100.555,
    )
    assert first.emotions[_index("fear")] == pytest.approx(0.2)
    assert sum(first.emotions) == pytest.approx(1.0)
    assert segments[1].emotions == (1.0, 0, 0, 0, 0, 0, 0)
    assert segments[2].source_video == "81406" and segments[2].segment_index is None


def test_csv_columns_are_matched_by_name_not_position(tmp_path):
    header = ["Surprise", "video_name", "Sadness", "Happiness", "Fear", "Disgust", "Anger", "Neutral"]
    path = tmp_path / "shuffled.csv"
    path.write_text(",".join(header) + "\n" + "0,v_1.0_2.0,0,0,0,0,1,0\n")
    assert read_mosei_csv(path)[0].emotions[_index("anger")] == 1.0


HEADER = "video_name,Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise\n"


@pytest.mark.parametrize(
    "content, message",
    [
        ("video_name,Neutral,Anger\nv_1_2,1,0\n", "lacks the column"),
        (HEADER + "v_1_2,x,0,0,0,0,0,0\n", "not a number"),
        (HEADER + "v_1_2,-1,0,0,0,0,0,0\n", "non-negative"),
        (HEADER + "v,1,0,0,0,0,0,0\nv,1,0,0,0,0,0,0\n", "repeats"),
        ("", "empty"),
    ],
)
def test_bad_csv_files_stop_with_the_file_named(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(MoseiLabelError, match=message) as caught:
        read_mosei_csv(path)
    assert "bad.csv" in str(caught.value)


def test_interval_ids_are_parsed_from_the_right():
    assert parse_interval_id("GdFP_p4eQX0_0.0000_4.5000") == ("GdFP_p4eQX0", 0.0, 4.5)
    assert parse_interval_id("-3g5yACwYnA_82.7645_100.5550") == ("-3g5yACwYnA", 82.7645, 100.555)
    assert parse_interval_id("GdFP_p4eQX0_3") is None
    assert parse_interval_id("v_5.0_2.0") is None  # end before start


def _segment(video, index, start, end):
    return MoseiSegment(f"{video}_{index}", video, index, start, end, (1.0, 0, 0, 0, 0, 0, 0), csd_row=index)


def test_label_index_matches_intervals_and_checks_index_names_by_clip_length():
    segments = [
        _segment("GdFP_p4eQX0", 0, 0.0, 4.5),
        _segment("GdFP_p4eQX0", 1, 4.5, 9.0),
        _segment("GdFP_p4eQX0", 2, 4.55, 9.05),
        _segment("-3g5yACwYnA", 0, 82.753, 100.555),
    ]
    lengths = {"GdFP_p4eQX0_1": 4.52, "GdFP_p4eQX0[2]": 4.5, "GdFP_p4eQX0_0": 12.0}
    index = MoseiLabelIndex(segments, lengths.get)
    assert index.resolve("GdFP_p4eQX0_1").video_id == "GdFP_p4eQX0_1"
    assert index.resolve("GdFP_p4eQX0[2]").video_id == "GdFP_p4eQX0_2"
    # The original project's names drift by hundredths of a second from the .csd intervals.
    assert index.resolve("-3g5yACwYnA_82.7645_100.5550").video_id == "-3g5yACwYnA_0"
    # Two candidates within tolerance: the nearest wins.
    assert index.resolve("GdFP_p4eQX0_4.5400_9.0400").video_id == "GdFP_p4eQX0_2"
    assert index.resolve("GdFP_p4eQX0_4.5100_9.0100").video_id == "GdFP_p4eQX0_1"
    assert index.resolve("-3g5yACwYnA_82.9000_100.5550") is None  # 0.147 s away
    assert index.resolve("GdFP_p4eQX0[7]") is None
    assert index.resolve("unknown_0") is None
    # An index name whose clip is 12 s long cannot be the 4.5 s segment it points to.
    with pytest.raises(MoseiLabelError, match=r"'GdFP_p4eQX0_0' lasts 12.00 s, but segment 0 in time order"):
        index.resolve("GdFP_p4eQX0_0")
    # Without the clip's length an index name is refused, with the way out named.
    with pytest.raises(MoseiLabelError, match=r"--mosei_clips.*<video>_<start>_<end>"):
        MoseiLabelIndex(segments).resolve("GdFP_p4eQX0_1")


def test_csd_rows_out_of_time_order_get_their_own_labels(tmp_path):
    # The SDK's file holds one video's segments as 56.85 s, 29.76 s, 42.15 s: not in time order.
    rows = [
        (56.85, 60.85, {"happy": 1.0}),  # 4.0 s
        (29.76, 36.76, {"sad": 2.0}),  # 7.0 s
        (42.15, 52.15, {"fear": 1.0}),  # 10.0 s
    ]
    segments = read_mosei_csd(write_csd(tmp_path / "labels.csd", {"zz_vid": rows}))
    # Canonical ids count segments in time order, as segment files are numbered.
    assert [(s.video_id, s.start, s.csd_row) for s in segments] == [
        ("zz_vid_0", 29.76, 1), ("zz_vid_1", 42.15, 2), ("zz_vid_2", 56.85, 0),
    ]
    assert segments[0].emotions[_index("sadness")] == 1.0
    lengths = {"zz_vid_0": 7.0, "zz_vid_1": 10.0, "zz_vid_2": 4.0, "zz_vid[0]": 4.0, "zz_vid[1]": 10.0}
    index = MoseiLabelIndex(segments, lengths.get)
    # Each segment file gets its own segment's label, not the one in the same .csd row.
    assert index.resolve("zz_vid_0").emotions[_index("sadness")] == 1.0
    assert index.resolve("zz_vid_1").emotions[_index("fear")] == 1.0
    assert index.resolve("zz_vid_2").emotions[_index("happiness")] == 1.0
    assert index.resolve("zz_vid_29.7600_36.7600").emotions[_index("sadness")] == 1.0
    assert index.resolve("zz_vid[0]").emotions[_index("happiness")] == 1.0  # the SDK's name: the .csd's row
    # A clip numbered by .csd row (10 s, row 1 is 7 s) is refused instead of taking another segment's label.
    with pytest.raises(MoseiLabelError, match=r"'zz_vid\[1\]' lasts 10.00 s, but .csd row 1 of 'zz_vid' spans"):
        index.resolve("zz_vid[1]")


def test_clip_lengths_are_read_from_the_clip_files(tmp_path):
    from tests.training.label_files import write_clip
    from training.mosei_labels import clip_lengths

    write_clip(tmp_path / "clips" / "sub" / "zz_vid_0.mp4", seconds=2.0)
    # Any extension extraction takes, in any case: a clip that was embedded has its length found.
    write_clip(tmp_path / "clips" / "zz_vid_2.mp4", seconds=1.0).rename(tmp_path / "clips" / "zz_vid_2.M4V")
    seconds = clip_lengths(tmp_path / "clips")
    assert seconds("zz_vid_0") == pytest.approx(2.0, abs=0.15)
    assert seconds("zz_vid_2") == pytest.approx(1.0, abs=0.15)
    assert seconds("zz_vid_1") is None
    with pytest.raises(MoseiLabelError, match="no such folder"):
        clip_lengths(tmp_path / "missing")


def test_validation_hold_out_is_deterministic_grouped_and_about_ten_percent():
    segments = [_segment(f"video{v:03d}", i, i, i + 1) for v in range(300) for i in range(3)]
    train, validation = hold_out_validation(segments)
    train_videos = {s.source_video for s in train}
    validation_videos = {s.source_video for s in validation}
    assert not train_videos & validation_videos
    assert len(train) + len(validation) == len(segments)
    assert 0.05 < len(validation_videos) / 300 < 0.15
    assert all(sum(s.source_video == v for s in validation) == 3 for v in validation_videos)
    # The same on every run, and a video's side does not depend on which other videos exist.
    assert hold_out_validation(list(reversed(segments)))[1] != [] and {
        s.source_video for s in hold_out_validation(list(reversed(segments)))[1]
    } == validation_videos
    fewer = [s for s in segments if s.source_video < "video150"]
    assert {s.source_video for s in hold_out_validation(fewer)[1]} == {v for v in validation_videos if v < "video150"}


def test_validation_hold_out_of_tiny_data_keeps_both_sides_non_empty():
    segments = [_segment("only_a", 0, 0, 1), _segment("only_b", 0, 0, 1)]
    train, validation = hold_out_validation(segments)
    assert len(train) == 1 and len(validation) == 1


def test_emotions_are_seven_floats_in_contract_order(tmp_path):
    segments = read_mosei_csd(write_csd(tmp_path / "labels.csd", VIDEOS))
    values = np.array([s.emotions for s in segments])
    assert values.shape == (4, len(EMOTION_LABELS)) and np.allclose(values.sum(axis=1), 1.0)
