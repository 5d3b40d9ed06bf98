"""Streaming decisions: a keyword is detected once it leads long enough by enough, never a
_silence_/_unknown_ class, never twice within the suppression time; and the scoring of
detections against a stream's clips."""

import numpy as np
import pytest

from ecqx.config import ConfigError
from ecqx.data.features import DEFAULT_MFCC
from ecqx.data.stream import Event
from ecqx.integer.recognize import RecognizerParams, decide, is_keyword, threshold_q
from ecqx.streaming import detection_time, score

LABELS = ["_silence_", "_unknown_", "yes", "no"]


def run(seq, **kw):
    rp = RecognizerParams(**({"infer_every": 1, "average": 3, "min_count": 2, "threshold": 1.0,
                              "suppression_frames": 4} | kw))  # fmt: skip
    logits = np.array(seq, np.int8)
    return decide(logits, 48, is_keyword(LABELS), rp, threshold_q(rp, 0.5))  # 1.0 -> 2 steps


def test_a_keyword_is_detected_after_min_count_and_only_once_per_suppression():
    yes = [0, 0, 5, 0]
    dets = run([yes] * 10)
    # first decision possible at the 2nd inference (min_count 2), then every 4 frames
    assert [(d.inference, d.frame, d.label) for d in dets] == [(1, 49, 2), (5, 53, 2), (9, 57, 2)]
    assert dets[0].lead == 10 and dets[0].count == 2


def test_the_lead_must_reach_the_threshold_per_inference():
    assert run([[0, 0, 2, 1]] * 3) == []  # lead 1 per inference < 2 steps
    assert len(run([[0, 0, 3, 1]] * 3)) == 1  # lead 2 per inference
    # the window sums: one strong inference is diluted by weak ones around it
    assert run([[0, 0, 1, 0], [0, 0, 4, 0], [0, 0, 0, 1]], average=3, min_count=3) == []


def test_silence_and_unknown_are_never_detected_and_ties_go_to_the_lower_index():
    assert run([[9, 0, 0, 0]] * 5) == [] and run([[0, 9, 0, 0]] * 5) == []
    assert run([[0, 0, 6, 6]] * 3) == []  # a tie: no lead at all
    assert [d.label for d in run([[0, 0, 6, 1]] * 3)] == [2]


def test_settings_out_of_range_are_refused():
    with pytest.raises(ConfigError, match="min_count"):
        RecognizerParams(average=2, min_count=3).validate()
    with pytest.raises(ConfigError, match="infer_every"):
        RecognizerParams(infer_every=0).validate()


def test_scoring_matches_each_keyword_clip_once():
    from ecqx.integer.recognize import Detection

    events = [Event("yes", 1.0, 0), Event("no", 4.0, 1), Event("_unknown_", 7.0, 2)]

    def at(seconds, label):  # a detection whose window ends at ``seconds``
        frame = int(round((seconds * 16000 - DEFAULT_MFCC.window) / DEFAULT_MFCC.hop))
        return Detection(0, frame, LABELS.index(label), 10, 3)

    dets = [at(1.9, "yes"), at(2.3, "yes"), at(4.2, "yes"), at(5.5, "no"), at(7.5, "no")]
    assert abs(detection_time(dets[0], DEFAULT_MFCC) - 1.9) < 0.02
    r = score(dets, events, LABELS, DEFAULT_MFCC, 3600.0)
    # yes@1.9 hits; yes@2.3 is a second detection of a matched clip; yes@4.2 is the wrong
    # word; no@5.5 hits (within 2 s of the start); no@7.5 fires on an unknown word
    assert (r["keywords"], r["detected"], r["false_alarms"]) == (2, 2, 3)
    assert r["detection_rate"] == 1.0 and r["false_alarms_per_hour"] == 3.0
