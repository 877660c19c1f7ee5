"""The viewer servers' shared start: a busy port is refused before anything listens."""
import socket

import pytest

from geodata.errors import DataError
from viewer.server import port_free, prepare


def test_a_busy_port_is_refused_with_a_fix():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not port_free(port)
        with pytest.raises(DataError, match=f"port {port} is already in use.*--port"):
            prepare(port, None)
    assert port_free(port)
