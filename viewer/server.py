"""What every viewer server does before it listens: check the port, log, load Panel inline.

Examples
--------
>>> import socket
>>> with socket.socket() as s:
...     s.bind(("127.0.0.1", 0)); s.listen(); port_free(s.getsockname()[1])
False
"""
from __future__ import annotations

import logging
import os
import socket

import panel as pn

from geodata.errors import DataError

__all__ = ["port_free", "prepare"]


def port_free(port: int, address: str = "127.0.0.1") -> bool:
    """Whether a server can listen on ``address:port`` now."""
    with socket.socket() as probe:
        try:
            probe.bind((address, int(port)))
        except OSError:
            return False
    return True


def prepare(port: int, basic_auth: str | None, *extensions: str, **config) -> dict:
    """Refuse a busy port (before any URL is printed), set up logging and Panel with
    inline resources (no CDN), and return the keyword arguments for ``pn.serve``.

    Raises
    ------
    DataError
        The port is already in use.
    """
    if not port_free(port):
        raise DataError(f"port {port} is already in use on 127.0.0.1", file=f"127.0.0.1:{port}",
                        fix="choose another with `twin serve ... --port N`, or stop the "
                            "program that listens there")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    pn.extension(*extensions, inline=True, theme="dark", **config)
    pn.config.inline = True
    return {"basic_auth": basic_auth, "cookie_secret": os.urandom(16).hex()} if basic_auth else {}
