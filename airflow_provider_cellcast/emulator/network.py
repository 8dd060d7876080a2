"""Sockets for the emulator's server: bind before serving, and the URL clients use. Standard library only."""

from __future__ import annotations

import socket

__all__ = ["bind_socket", "url_for"]


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on ``host:port`` (``port=0``: a free port) before the server starts.

    Binding here rather than in uvicorn lets the caller learn the port at once, and connections
    made before the event loop runs wait in the backlog instead of being refused.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def url_for(host: str, port: int) -> str:
    """``http://host:port``, with IPv6 hosts in brackets."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"
