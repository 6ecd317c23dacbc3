"""The AudioSocket codec: every kind round-trips, every malformed input is refused by name,
and no byte stream, however split, raises anything but ProtocolError."""

import re
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calls.audiosocket.protocol import (
    RATE_BY_AUDIO_KIND,
    Decoder,
    ErrorCode,
    Kind,
    Packet,
    ProtocolError,
    encode,
    encode_audio,
    encode_dtmf,
    encode_error,
    encode_hangup,
    encode_uuid,
    frame_bytes,
)

CALL_UUID = uuid.UUID("4e5f6a7b-1c2d-4e3f-8a9b-0c1d2e3f4a5b")


def test_the_header_is_kind_then_big_endian_length():
    assert encode_hangup() == b"\x00\x00\x00"
    assert encode_uuid(CALL_UUID) == b"\x01\x00\x10" + CALL_UUID.bytes
    assert encode_dtmf("5") == b"\x03\x00\x015"
    assert encode_audio(b"\x01\x02" * 160)[:3] == b"\x10\x01\x40"
    assert encode_error(ErrorCode.MEMORY) == b"\xff\x00\x01\x04"


@pytest.mark.parametrize(("kind", "rate"), list(RATE_BY_AUDIO_KIND.items()))
def test_every_audio_kind_round_trips_with_its_sample_rate(kind, rate):
    pcm = bytes(range(256)) * (frame_bytes(rate) // 256) + bytes(frame_bytes(rate) % 256)
    [packet] = Decoder().feed(encode_audio(pcm, rate))
    assert packet == Packet(kind, pcm)
    assert packet.is_audio and packet.sample_rate == rate


def test_uuid_dtmf_hangup_and_error_packets_round_trip():
    stream = (
        encode_uuid(CALL_UUID)
        + encode_dtmf("#")
        + encode_error(ErrorCode.CALLER_HUNG_UP)
        + encode_error()
        + encode_hangup()
    )
    uuid_packet, dtmf, error, bare_error, hangup = Decoder().feed(stream)
    assert uuid_packet.uuid == CALL_UUID
    assert dtmf.digit == "#"
    assert error.error_code == ErrorCode.CALLER_HUNG_UP
    assert bare_error.error_code is None
    assert hangup.kind == Kind.HANGUP and not hangup.is_audio


def test_an_unknown_error_code_is_kept_as_a_number():
    [packet] = Decoder().feed(b"\xff\x00\x01\x09")
    assert packet.error_code == 9


def test_it_decodes_a_header_split_across_reads():
    decoder = Decoder()
    data = encode_dtmf("7")
    assert decoder.feed(data[:1]) == []
    assert decoder.feed(data[1:2]) == []
    assert decoder.pending == 2
    assert decoder.feed(data[2:]) == [Packet(Kind.DTMF, b"7")]
    assert decoder.pending == 0


def test_it_decodes_a_payload_spread_over_many_reads_and_several_packets_in_one():
    frame = encode_audio(b"\x05\x00" * 160)
    stream = encode_uuid(CALL_UUID) + frame * 3 + encode_hangup()
    decoder = Decoder()
    one_byte_at_a_time = [p for i in range(len(stream)) for p in decoder.feed(stream[i : i + 1])]
    assert one_byte_at_a_time == Decoder().feed(stream)
    assert [p.kind for p in one_byte_at_a_time] == [Kind.UUID] + [Kind.AUDIO_8K] * 3 + [Kind.HANGUP]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x42\x00\x00", "unknown packet kind 0x42"),
        (b"\x01\x00\x0f" + bytes(15), "UUID payload must be 16 bytes, got 15"),
        (b"\x03\x00\x02" + b"12", "DTMF payload must be one of 0-9*#A-D"),
        (b"\x03\x00\x01x", "DTMF payload must be one of 0-9*#A-D, got b'x'"),
        (b"\x10\x01\x41" + bytes(321), "audio payload has an odd length (321 bytes)"),
        (b"\x12\x00\x00", "empty audio payload"),
        (b"\x00\x00\x01\x00", "hang-up packet must be empty"),
        (b"\xff\x00\x02\x01\x02", "error packet payload must be at most 1 byte"),
        (b"\x10\x40\x00", "packet payload of 16384 bytes exceeds the limit of 16383"),
    ],
)
def test_each_malformed_packet_is_refused_with_what_was_wrong(data, message):
    with pytest.raises(ProtocolError, match=re.escape(message)):
        Decoder(max_payload=16383).feed(data)


def test_an_oversize_length_is_refused_before_its_payload_arrives():
    decoder = Decoder(max_payload=2048)
    with pytest.raises(ProtocolError, match="exceeds the limit of 2048"):
        decoder.feed(b"\x10\xff\xff")  # only the header: we never wait for 64 KiB


def test_after_an_error_the_stream_stays_broken():
    decoder = Decoder()
    with pytest.raises(ProtocolError):
        decoder.feed(b"\x42\x00\x00")
    with pytest.raises(ProtocolError, match="stream already broken: unknown packet kind"):
        decoder.feed(encode_hangup())


def test_packets_before_a_fault_in_the_same_read_are_kept_on_the_error():
    with pytest.raises(ProtocolError) as caught:
        Decoder().feed(encode_uuid(CALL_UUID) + encode_dtmf("1") + b"\x42\x00\x00")
    assert [p.kind for p in caught.value.packets] == [Kind.UUID, Kind.DTMF]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: encode_audio(b""), "empty audio payload"),
        (lambda: encode_audio(b"\x00" * 3), "odd length"),
        (lambda: encode_audio(b"\x00\x00", 11025), "no audio kind for 11025 Hz"),
        (lambda: encode(Kind.AUDIO_8K, bytes(70000)), "does not fit a packet"),
        (lambda: encode_dtmf("x"), "DTMF payload"),
        (lambda: encode(0x42), "unknown packet kind 0x42"),
    ],
)
def test_the_encoders_refuse_what_asterisk_would_choke_on(call, message):
    with pytest.raises(ProtocolError, match=re.escape(message)):
        call()


def test_frame_sizes_follow_the_sample_rate():
    assert (frame_bytes(8000), frame_bytes(16000), frame_bytes(48000)) == (320, 640, 1920)


# --- Fuzzing ----------------------------------------------------------------------------------

valid_packets = st.one_of(
    st.builds(lambda: encode_hangup()),
    st.builds(lambda u: encode_uuid(uuid.UUID(bytes=u)), st.binary(min_size=16, max_size=16)),
    st.sampled_from("0123456789*#ABCD").map(encode_dtmf),
    st.sampled_from([None, 1, 2, 4, 200]).map(encode_error),
    st.tuples(st.sampled_from(list(RATE_BY_AUDIO_KIND.values())), st.integers(1, 400)).map(
        lambda r: encode_audio(b"\x01\x80" * r[1], r[0])
    ),
)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 600), max_size=12))
def test_random_bytes_give_packets_or_a_protocol_error_and_nothing_else(data, cuts):
    decoder = Decoder(max_payload=1024)
    try:
        for chunk in _split(data, cuts):
            for packet in decoder.feed(chunk):
                assert isinstance(packet, Packet)
    except ProtocolError:
        pass


@settings(max_examples=300, deadline=None)
@given(packets=st.lists(valid_packets, max_size=20), cuts=st.lists(st.integers(0, 20000)))
def test_valid_streams_split_anywhere_decode_to_exactly_what_was_sent(packets, cuts):
    stream = b"".join(packets)
    decoder = Decoder()
    decoded = [p for chunk in _split(stream, cuts) for p in decoder.feed(chunk)]
    assert b"".join(encode(p.kind, p.payload) for p in decoded) == stream
    assert len(decoded) == len(packets) and decoder.pending == 0
