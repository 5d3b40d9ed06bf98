"""The shape of a Speech Commands corpus: its 35 words, the ten keywords of the 12-class task,
utterances per speaker and the stand-in's sizes. Import-light, so the CLI offers the sizes
without loading the synthesizer."""

CORE_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
AUX_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
             "bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow",
             "backward", "forward", "follow", "learn", "visual")  # fmt: skip
GSC_WORDS = CORE_WORDS + AUX_WORDS
CORE_UTTERANCES = 2  # GSC v0.02 has about 1.5 utterances of each core word per speaker

# speakers per stand-in size; "full" approaches GSC v0.02 (2,618 speakers, ~105k clips)
SIZES = {"tiny": 6, "small": 40, "default": 600, "full": 2600}


def utterances(word: str) -> int:
    """Utterances of ``word`` per speaker."""
    return CORE_UTTERANCES if word in CORE_WORDS else 1


def clips_per_speaker() -> int:
    return sum(utterances(w) for w in GSC_WORDS)
