"""The test stream: deterministic, clips where its events say, a whole number of hops."""

import numpy as np

from ecqx.data.gsc import LABELS
from ecqx.data.stream import make_stream


def test_stream_places_clips_at_their_events():
    rng = np.random.default_rng(0)
    audio = (0.3 * rng.standard_normal((20, 16000))).astype(np.float32)
    labels = np.array([LABELS.index(w) for w in ("yes", "no", "_unknown_", "_silence_") * 5])
    s = make_stream(audio, labels, [], 30.0, seed=3)
    t = make_stream(audio, labels, [], 30.0, seed=3)
    np.testing.assert_array_equal(s.pcm, t.pcm)
    assert s.pcm.dtype == np.int16 and s.pcm.size % 320 == 0 and s.seconds <= 30
    assert len(s.events) >= 10 and all(e.label != "_silence_" for e in s.events)
    assert sum(e.label == "_unknown_" for e in s.events) >= 1
    for e in s.events:  # without a noise bed each clip is in the stream sample for sample
        at = int(round(e.start * 16000))
        want = np.clip(np.rint(audio[e.clip] * 32768.0), -32768, 32767)
        np.testing.assert_array_equal(s.pcm[at : at + 16000], want)
        assert LABELS[labels[e.clip]] == e.label
    gaps = np.diff([e.start for e in s.events])
    assert gaps.min() >= 1.3 - 1e-9 and gaps.max() <= 2.5 + 1e-9
