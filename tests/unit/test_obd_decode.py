"""Frame parsing, ISO-TP reassembly, positive/negative answers, VINs and trouble codes."""

from __future__ import annotations

import pytest

from device_modules.obd import decode
from device_modules.obd.decode import Frame, FrameError, Message, assemble, decode_vin, parse_frame, segment
from device_modules.obd.dtc import decode_dtc, describe, encode_dtc, parse_dtcs
from device_modules.obd.errors import AdapterError, NegativeResponse

VIN_LINES = ["7E8 10 14 49 02 01 57 50 30", "7E8 21 5A 5A 5A 39 39 5A 54", "7E8 22 53 33 39 30 30 30 30"]


@pytest.mark.parametrize(("line", "kind", "header", "data"), [
    ("7E804410C1AF8", "can11", "7E8", "04410C1AF8"),
    ("7E8 04 41 0C 1A F8", "can11", "7E8", "04410C1AF8"),
    ("18DAF11003410D32", "can29", "18DAF110", "03410D32"),
    ("18 DA F1 10 03 41 0D 32", "can29", "18DAF110", "03410D32"),
    ("48 6B 10 41 0D 32 C4", "legacy", "486B10", "410D32"),       # checksum dropped
    ("7e804410c1af8", None, "7E8", "04410C1AF8"),                 # odd digits: 11-bit
    ("18DAF11003410D32", None, "18DAF110", "03410D32"),           # even digits: 29-bit
])
def test_parse_frame(line: str, kind: str | None, header: str, data: str) -> None:
    frame = parse_frame(line, kind)  # type: ignore[arg-type]
    assert (frame.header, frame.data) == (header, bytes.fromhex(data))


@pytest.mark.parametrize("line", ["NO DATA", "7E8", "7E80", "7E8 04 41 0C 1A F"])
def test_parse_frame_refuses_what_is_not_a_frame(line: str) -> None:
    with pytest.raises(FrameError):
        parse_frame(line, "can11")


@pytest.mark.parametrize(("number", "kind"), [
    ("6", "can11"), ("A6", "can11"), ("8", "can11"), ("7", "can29"), ("A9", "can29"), ("A", "can29"),
    ("3", "legacy"), ("A5", "legacy"), ("0", None), ("", None),
])
def test_frame_kind_of_protocol_numbers(number: str, kind: str | None) -> None:
    assert decode.frame_kind(number) == kind


def test_multi_frame_vin_is_reassembled() -> None:
    [message] = assemble(parse_frame(line, "can11") for line in VIN_LINES)
    assert message.ecu == "7E8"
    assert message.data == b"\x49\x02\x01WP0ZZZ99ZTS390000"
    assert [f.text for f in message.frames] == [line.replace(" ", "") for line in VIN_LINES]


def test_interleaved_ecus_are_reassembled_separately() -> None:
    lines = ["7E8 10 0B 49 0A 01 45 43 4D", "7E9 03 41 0D 32", "7E8 21 00 2D 45 6E 67 00 00"]
    messages = assemble(parse_frame(line, "can11") for line in lines)
    assert [(m.ecu, m.data) for m in messages] == [
        ("7E8", bytes.fromhex("490A0145434D002D456E67")), ("7E9", bytes.fromhex("410D32"))]


def test_sequence_numbers_wrap_after_f() -> None:
    payload = bytes(range(6 + 7 * 17))  # needs consecutive frames 1..F, 0, 1
    frames = [Frame("7E8", data) for data in segment(payload)]
    assert [f.data[0] for f in frames][15:18] == [0x2F, 0x20, 0x21]
    assert assemble(frames)[0].data == payload


@pytest.mark.parametrize("lines", [
    ["7E8 10 14 49 02 01 57 50 30", "7E8 22 53 33 39 30 30 30 30"],   # frame 1 missing
    ["7E8 10 14 49 02 01 57 50 30", "7E8 21 5A 5A 5A 39 39 5A 54"],   # cut short
    ["7E8 21 5A 5A 5A 39 39 5A 54"],                                 # no first frame
    ["7E8 05 41 0D"],                                                # shorter than its length
])
def test_broken_sequences_are_frame_errors(lines: list[str]) -> None:
    with pytest.raises(FrameError):
        assemble(parse_frame(line, "can11") for line in lines)


def test_flow_control_frames_are_ignored() -> None:
    assert assemble([Frame("7E8", b"\x30\x00\x00"), Frame("7E8", b"\x03\x41\x0d\x32")])[0].data == b"\x41\x0d\x32"


def test_legacy_numbered_frames_are_joined() -> None:
    vin = b"WP0ZZZ99ZTS390000"
    frames = [Frame("486B10", bytes([0x49, 0x02, 1, 0, 0, 0]) + vin[:1])]
    frames += [Frame("486B10", bytes([0x49, 0x02, n + 2]) + vin[1 + 4 * n: 5 + 4 * n]) for n in range(4)]
    [message] = assemble(reversed(frames), can=False)
    assert decode_vin(message.data[2:]) == "WP0ZZZ99ZTS390000"
    dtcs = assemble([Frame("486B10", bytes.fromhex("43 01 04 C1 23 00 00")),
                     Frame("486B10", bytes.fromhex("43 03 00 00 00 00 00"))], can=False)
    assert parse_dtcs(dtcs[0].data[1:]) == ["P0104", "U0123", "P0300"]


def test_segment_matches_what_ecus_send() -> None:
    assert segment(b"\x41\x0d\x32") == [b"\x03\x41\x0d\x32"]
    assert segment(b"\x41\x0d\x32", pad=0) == [b"\x03\x41\x0d\x32\x00\x00\x00\x00"]
    frames = segment(b"\x49\x02\x01WP0ZZZ99ZTS390000")
    assert [f.hex().upper() for f in frames] == [line.replace(" ", "")[3:] for line in VIN_LINES]


def test_answer_skips_other_ecus_and_pending() -> None:
    messages = [Message("7E9", b"\x7f\x01\x78"), Message("7E9", b"\x41\x0c\x00\x00"),
                Message("7E8", b"\x41\x0c\x1a\xf8")]
    assert decode.answer(messages, 0x01, b"\x0c") == ("7E8", b"\x1a\xf8")
    assert decode.answers(messages, 0x01, b"\x0c") == [("7E8", b"\x1a\xf8"), ("7E9", b"\x00\x00")]


def test_negative_response_names_the_code() -> None:
    with pytest.raises(NegativeResponse, match=r"ECU 7E8 refused 22F190: requestOutOfRange \(7F 22 31\)") as caught:
        decode.answer([Message("7E8", b"\x7f\x22\x31")], 0x22, b"\xf1\x90")
    assert (caught.value.ecu, caught.value.service, caught.value.code) == ("7E8", 0x22, 0x31)


def test_unexpected_answer_is_an_adapter_error() -> None:
    with pytest.raises(AdapterError, match="no answer to 010C among 7E8: 41 0D 32"):
        decode.answer([Message("7E8", b"\x41\x0d\x32")], 0x01, b"\x0c")


def test_vin_keeps_trailing_zeros_and_drops_the_count() -> None:
    assert decode_vin(b"\x01WP0ZZZ99ZTS390000") == "WP0ZZZ99ZTS390000"
    assert decode_vin(b"\x00\x00\x001HGCM82633A004352") == "1HGCM82633A004352"
    with pytest.raises(AdapterError, match="16 bytes"):
        decode_vin(b"WP0ZZZ99ZTS39000")


def test_supported_from_bitmap() -> None:
    assert decode.supported_from_bitmap(0x00, bytes.fromhex("80000001")) == [0x01, 0x20]
    assert decode.supported_from_bitmap(0x20, bytes.fromhex("40000000")) == [0x22]


@pytest.mark.parametrize(("data", "code"), [
    ("01 04", "P0104"), ("01 33", "P0133"), ("41 23", "C0123"), ("81 00", "B0100"),
    ("C1 23", "U0123"), ("12 34", "P1234"), ("F3 FF", "U33FF"), ("2A BC", "P2ABC"),
])
def test_dtc_bytes_round_trip(data: str, code: str) -> None:
    first, second = bytes.fromhex(data)
    assert decode_dtc(first, second) == code
    assert encode_dtc(code) == bytes.fromhex(data)


@pytest.mark.parametrize("bad", ["P010", "X0104", "P4104", "P01G4"])
def test_encode_refuses_malformed_codes(bad: str) -> None:
    with pytest.raises(ValueError, match="not a trouble code"):
        encode_dtc(bad)


@pytest.mark.parametrize(("data", "codes"), [
    ("02 01 04 C1 23", ["P0104", "U0123"]),   # CAN: count byte first
    ("00", []),
    ("01 04 C1 23", ["P0104", "U0123"]),      # pairs only (legacy, some emulators)
    ("01 04 00 00 00 00", ["P0104"]),         # legacy padding
    ("02 01 04 01 04", ["P0104"]),            # repeated once
])
def test_parse_dtcs(data: str, codes: list[str]) -> None:
    assert parse_dtcs(bytes.fromhex(data)) == codes


@pytest.mark.parametrize(("code", "text"), [
    ("P0104", "Mass or Volume Air Flow Circuit Intermittent"),
    ("P0420", "Catalyst System Efficiency Below Threshold (Bank 1)"),
    ("P0305", "Cylinder 5 Misfire Detected"),
    ("P0999", "Powertrain code, SAE generic: transmission"),
    ("P1234", "Powertrain code, manufacturer-specific: fuel and air metering (injector circuit)"),
    ("C1234", "Chassis code, manufacturer-specific"),
    ("U3000", "Network code, SAE generic"),
])
def test_describe(code: str, text: str) -> None:
    assert describe(code) == text
