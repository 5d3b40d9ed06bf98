"""The framed serial protocol: host and device parsers agree, errors, stray sync bytes, fuzzing
under ASan."""

import numpy as np
import pytest
from protocol_streams import build_device_parser, device_events, host_events, random_stream

from ecqx.hil.protocol import BadFrame, ErrorCode, Frame, Msg, Parser, encode


def test_host_parser_round_trip_and_errors():
    p = Parser()
    good = encode(Msg.INFER, bytes(range(200)))
    assert p.feed(good) == [Frame(Msg.INFER, bytes(range(200)))]
    bad_crc = bytearray(good)
    bad_crc[10] ^= 0xFF
    assert p.feed(bytes(bad_crc)) == [BadFrame(ErrorCode.CRC)]
    # garbage (including a lone sync byte) between frames is skipped
    assert p.feed(b"\x00\xec\x13garbage" + encode(Msg.HELLO)) == [Frame(Msg.HELLO, b"")]
    oversize = b"\xec\x51\x02\x02" + (5000).to_bytes(2, "little")
    assert p.feed(oversize + encode(Msg.HELLO)) == [BadFrame(ErrorCode.OVERSIZE), Frame(1, b"")]
    assert p.feed(encode(0x55)) == [BadFrame(ErrorCode.UNKNOWN_TYPE)]
    assert p.feed(encode(Msg.HELLO, version=9)) == [BadFrame(ErrorCode.VERSION)]
    truncated = encode(Msg.INFER, b"x" * 50)[:30]
    # a truncated frame swallows bytes until its length is complete, then fails its CRC;
    # the parser is back in sync for the frame after that
    events = p.feed(truncated + encode(Msg.HELLO) * 6)
    assert BadFrame(ErrorCode.CRC) in events and events[-1] == Frame(Msg.HELLO, b"")


@pytest.fixture(scope="module")
def device_parser(tmp_path_factory):
    return build_device_parser(tmp_path_factory.mktemp("proto"))


def test_a_stray_sync_pair_costs_only_itself(device_parser):
    """Noise that looks like a sync pair in front of a frame (or of its retry) must not make
    either parser read the real frame's header as a length and swallow what follows."""
    hello, infer = encode(Msg.HELLO), encode(Msg.INFER, bytes(40))
    for stream, expected in [
        (b"\xec\x51" + hello, [Frame(Msg.HELLO, b"")]),
        (b"\xec\x51" + infer + b"\xec\x51" + infer, [Frame(Msg.INFER, bytes(40))] * 2),
        (b"\xec\x51\x07" + hello, [BadFrame(ErrorCode.VERSION), Frame(Msg.HELLO, b"")]),
        (b"\xec\x51\x02\xec" + hello, [BadFrame(ErrorCode.UNKNOWN_TYPE), Frame(1, b"")]),
    ]:
        assert Parser().feed(stream) == expected, stream
        assert device_events(device_parser, stream) == host_events(stream), stream


def test_device_parser_agrees_with_host_parser(device_parser):
    stream = (
        encode(Msg.HELLO)
        + b"noise"
        + encode(Msg.INFER, bytes(735))
        + b"\xec\x51\x02\x02\xff\xff"  # oversize
        + encode(Msg.INFER, b"abc")[:-1]
        + b"\x00"  # bad CRC
        + encode(0x42)
        + encode(Msg.HELLO)
    )
    assert device_events(device_parser, stream) == host_events(stream)


def test_device_parser_fuzz_under_asan(device_parser):
    """A long random stream mixing valid frames, corrupted frames and noise: the C parser
    (ASan/UBSan) never overflows and reports exactly what the host parser reports."""
    stream = random_stream(np.random.default_rng(0), 3000)
    assert len(stream) > 200_000
    dev, host = device_events(device_parser, stream), host_events(stream)
    assert dev == host and len(dev) > 1000


def test_audio_parts_cover_a_clip_and_fit_a_frame():
    import struct

    from ecqx.hil.protocol import AUDIO_PART_SAMPLES, MAX_PAYLOAD, audio_parts

    pcm = np.arange(-8000, 8000, dtype="<i2")
    parts = audio_parts(pcm.tobytes())
    assert all(len(p) <= MAX_PAYLOAD for p in parts) and len(parts) == 32
    firsts = [struct.unpack("<H", p[:2])[0] for p in parts]
    assert firsts == list(range(0, 16000, AUDIO_PART_SAMPLES))
    assert b"".join(p[2:] for p in parts) == pcm.tobytes()


def test_audio_result_and_info_reject_what_cannot_be():
    from ecqx.hil.protocol import AudioResult, DeviceInfo

    ok = bytes(735) + bytes(12) + bytes([3]) + (7).to_bytes(4, "little") + (9).to_bytes(4, "little")
    r = AudioResult.parse(ok, 735, 12)
    assert (r.label, r.cycles_front_end, r.cycles_network, len(r.features)) == (3, 7, 9, 735)
    with pytest.raises(ValueError, match="expected 756"):
        AudioResult.parse(ok[:-1], 735, 12)
    with pytest.raises(ValueError, match="names class 12"):
        AudioResult.parse(ok[:747] + bytes([12]) + ok[748:], 735, 12)
    info = (
        bytes([2]) + b"0123456789abcdef" + (735).to_bytes(2, "little") + (12).to_bytes(2, "little")
    )
    assert DeviceInfo.parse(info + b"\x01board").front_end is True
    assert DeviceInfo.parse(info + b"\x00board").board == "board"
    with pytest.raises(ValueError, match="front end 7"):
        DeviceInfo.parse(info + b"\x07board")
