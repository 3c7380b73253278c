"""This machine as the network sees it: for tests of what a node does to clients that are not
on its own machine (loopback is trusted in places)."""

from __future__ import annotations

import socket

from tests.support.services import unavailable


def network_address() -> str:
    """This machine's address on its network (not loopback), or a skip saying there is none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: only a route is chosen
            address: str = probe.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    if address.startswith("127."):
        unavailable("this machine has no network address besides loopback")
    return address
