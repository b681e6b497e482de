"""What the ``obd`` functions need from an adapter: the :class:`ObdBackend` protocol.

Three backends fill it: :mod:`~device_modules.obd.elm327` (an ELM327/STN
adapter on a serial port), :mod:`~device_modules.obd.can_backend` (a CAN
interface through python-can and can-isotp) and :mod:`~device_modules.obd.sim`
(a simulated car). The functions in :mod:`device_modules.obd` talk to the
vehicle only through this protocol, so the contract tests run the same suite
on all three.

Errors a backend raises (see :mod:`device_modules.obd.errors`):
:class:`~device_modules.obd.errors.NoData` when nothing answered,
:class:`~device_modules.obd.errors.AdapterError` for any other error the
adapter reports, :class:`~device_modules.errors.DeviceIOError` when the port
fails and :class:`~device_modules.errors.DeviceTimeout` when the adapter
stops answering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from device_modules.obd.decode import Message

__all__ = ["PROTOCOLS", "ObdBackend", "ProtocolInfo", "protocol_info"]

#: ELM327 protocol numbers (``ATSP n``) and their names as ``ATDP`` prints them.
PROTOCOLS: dict[str, str] = {
    "0": "AUTO",
    "1": "SAE J1850 PWM",
    "2": "SAE J1850 VPW",
    "3": "ISO 9141-2",
    "4": "ISO 14230-4 (KWP 5BAUD)",
    "5": "ISO 14230-4 (KWP FAST)",
    "6": "ISO 15765-4 (CAN 11/500)",
    "7": "ISO 15765-4 (CAN 29/500)",
    "8": "ISO 15765-4 (CAN 11/250)",
    "9": "ISO 15765-4 (CAN 29/250)",
    "A": "SAE J1939 (CAN 29/250)",
    "B": "USER1 (CAN 11/125)",
    "C": "USER2 (CAN 11/50)",
}


@dataclass(frozen=True)
class ProtocolInfo:
    """The protocol in use: its ELM327 number, its name, and whether it was found automatically."""

    id: str
    name: str
    auto: bool = False

    def as_dict(self) -> dict[str, str | bool]:
        return {"id": self.id, "name": self.name, "auto": self.auto}


def protocol_info(number: str) -> ProtocolInfo:
    """``ATDPN``'s answer (``"A6"``, ``"6"``, ``"0"``) as a :class:`ProtocolInfo`."""
    text = number.strip().upper()
    auto = text.startswith("A") and len(text) == 2
    pid = text[1:] if auto else text
    return ProtocolInfo(pid, PROTOCOLS.get(pid, f"unknown protocol {pid}"), auto or pid == "0")


class ObdBackend(Protocol):
    """An open connection to a vehicle; one per process, used under the ``obd`` lock."""

    #: ``"elm327"``, ``"can"`` or ``"sim"``.
    name: str

    def query(self, mode: int, pid: bytes, header: str | None = None) -> list[Message]:
        """Send ``mode`` + ``pid`` (``b""`` for modes 03/04) and return every ECU's answer.

        ``header`` is the request's CAN id in hex (``"7E0"``, ``"18DA10F1"``);
        ``None`` asks all ECUs (functional address ``7DF`` / ``18DB33F1``).
        """
        ...

    def send(self, data: bytes, header: str | None = None) -> list[str]:
        """Send raw message bytes and return the answer's frames as the adapter prints them."""
        ...

    def voltage(self) -> float:
        """The vehicle's battery voltage as the adapter measures it, in volts."""
        ...

    def protocol(self) -> ProtocolInfo:
        """The protocol in use (``id`` ``"0"`` until the first answer when searching)."""
        ...

    def set_protocol(self, number: str) -> ProtocolInfo:
        """Use protocol ``number`` (an ELM327 protocol number, ``"0"`` to search)."""
        ...

    def status(self) -> str:
        """``"Not Connected"``, ``"ELM Connected"``, ``"OBD Connected"`` or ``"Car Connected"``."""
        ...

    def close(self) -> None:
        """Release the port; the backend is not used afterwards."""
        ...
