"""A small Redis client for the revocation records: commands sent in one write, their replies read over RESP.

redis-py costs every process about 9 MiB (it imports asyncio and a client for every
command Redis has); revocation needs two commands, ``MGET`` and ``SET ... EX``
(shop_common/revocation.py). The gateway's rate limiter still counts in Redis through
redis-py, which the ``limits`` package imports only when ``RATELIMIT_STORAGE_URI`` is
``redis://`` (README, Libraries).

Connections are pooled per process, each used by one caller at a time: a thread, or a
greenlet under gevent, whose patched sockets it then uses. Taking and giving back one is
a single ``deque`` operation, atomic under both. A forked worker starts with an empty pool
(the master's sockets stay the master's). A connection that fails is closed, never reused:
the next call connects anew. Connect, read and write time out, so a Redis that stops
answering cannot hold a request.
"""

import os
import socket
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

DEFAULT_PORT = 6379
# Idle connections kept per process; more callers at once connect, and close when done.
MAX_IDLE_CONNECTIONS = 16
Command = Sequence[str | bytes | int]


class RedisError(Exception):
    """Redis could not be reached in time, or answered a command with an error."""


class _ErrorReply:
    def __init__(self, message: str) -> None:
        self.message = message


class RedisClient:
    """Commands to the Redis of a ``redis://[[user]:password@]host[:port][/db]`` URL."""

    def __init__(self, url: str, timeout_seconds: float) -> None:
        parts = urlsplit(url)
        if parts.scheme != "redis":
            raise ValueError(f"{url!r}: a redis:// URL is expected")
        self.address = (parts.hostname or "127.0.0.1", parts.port or DEFAULT_PORT)
        self.timeout_seconds = timeout_seconds
        # Run on each new connection: log in, choose the database.
        self.greeting: list[Command] = []
        if parts.password is not None:
            credentials = [unquote(parts.username)] if parts.username else []
            self.greeting.append(("AUTH", *credentials, unquote(parts.password)))
        database = parts.path.strip("/")
        if database not in ("", "0"):
            self.greeting.append(("SELECT", database))
        self._idle: deque[_Connection] = deque()
        self._pid = os.getpid()

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        """Each key's value, ``None`` where it has none.

        :raise RedisError: as :meth:`execute`.
        """
        return self.execute([("MGET", *keys)])[0]

    def set_for(self, records: Iterable[tuple[str, str]], seconds: int) -> None:
        """Set each ``(key, value)`` to expire after ``seconds``, in one round trip.

        :raise RedisError: as :meth:`execute`.
        """
        self.execute([("SET", key, value, "EX", seconds) for key, value in records])

    def execute(self, commands: Sequence[Command]) -> list[Any]:
        """Send ``commands`` in one write and read a reply to each (a pipeline, not a transaction).

        :raise RedisError: Redis unreachable or too slow, or an error reply to any of them.
        """
        connection = self._take()
        replies = self._run(connection, commands)
        self._give_back(connection)
        return replies

    def _run(self, connection: "_Connection", commands: Sequence[Command]) -> list[Any]:
        """``commands``' replies over ``connection``, closed for good on any failure (its state is unknown)."""
        try:
            return connection.run(commands)
        except RedisError:
            connection.close()
            raise
        except OSError as error:
            connection.close()
            raise self._unreachable(error) from error

    def _take(self) -> "_Connection":
        if self._pid != os.getpid():  # a forked child: closing its copies leaves the parent's sockets open
            while self._idle:
                self._idle.pop().close()
            self._pid = os.getpid()
        try:
            return self._idle.pop()
        except IndexError:
            return self._connect()

    def _connect(self) -> "_Connection":
        try:
            sock = socket.create_connection(self.address, timeout=self.timeout_seconds)
        except OSError as error:
            raise self._unreachable(error) from error
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = _Connection(sock)
        self._run(connection, self.greeting)
        return connection

    def _unreachable(self, error: OSError) -> RedisError:
        host, port = self.address
        return RedisError(f"{host}:{port}: {error or type(error).__name__}")

    def _give_back(self, connection: "_Connection") -> None:
        if len(self._idle) < MAX_IDLE_CONNECTIONS:
            self._idle.append(connection)
        else:
            connection.close()


class _Connection:
    """One socket to Redis and a buffered reader of its replies."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.replies = sock.makefile("rb")

    def run(self, commands: Sequence[Command]) -> list[Any]:
        """The replies to ``commands``, all read before an error reply is raised, so the connection stays in step."""
        if not commands:
            return []
        self.sock.sendall(b"".join(map(_encode, commands)))
        replies = [self._read() for _ in commands]
        for reply in replies:
            if isinstance(reply, _ErrorReply):
                raise RedisError(reply.message)
        return replies

    def _read(self) -> Any:
        line = self.replies.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionResetError("Redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"$":
            return None if int(rest) < 0 else self._read_exactly(int(rest))
        if kind == b"*":
            return None if int(rest) < 0 else [self._read() for _ in range(int(rest))]
        if kind == b"+":
            return rest
        if kind == b":":
            return int(rest)
        if kind == b"-":
            return _ErrorReply(rest.decode(errors="replace"))
        raise RedisError(f"not a RESP reply: {line[:40]!r}")

    def _read_exactly(self, size: int) -> bytes:
        data = self.replies.read(size + 2)
        if len(data) != size + 2:
            raise ConnectionResetError("Redis closed the connection")
        return data[:-2]

    def close(self) -> None:
        self.replies.close()
        self.sock.close()


def _encode(command: Command) -> bytes:
    """A command as RESP's array of bulk strings."""
    parts = [b"*%d\r\n" % len(command)]
    for argument in command:
        data = argument if isinstance(argument, bytes) else str(argument).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)
