"""Whether a pooled connection's socket is still open, for the pool of MySQL connections.

A connection the other side closed while it sat in a pool (a restart, an idle
limit, ``KILL``) must be replaced before it is used, not fail the request. One
zero-timeout ``poll`` system call tells: an idle socket that is readable has
been closed (or holds bytes nobody asked for, which spoil it as much). It costs
far less than a MySQL ping, a round trip per request (docs/performance.md).
"""

import select
import sys
from typing import Any

# The system's poll, even where gevent has patched the module (a zero timeout never waits);
# a process that never loaded gevent (the user service's threads) need not import it for this.
_gevent_monkey = sys.modules.get("gevent.monkey")
_system_poll = _gevent_monkey.get_original("select", "poll") if _gevent_monkey else select.poll


def still_open(sock: Any) -> bool:
    """``sock`` (a socket, or None for a closed connection) is open and has nothing unread."""
    if sock is None:
        return False
    poller = _system_poll()
    poller.register(sock, select.POLLIN)
    return not poller.poll(0)
