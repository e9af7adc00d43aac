"""What ``/proc`` says about processes: their tree, CPU time, memory, and who listens on a port."""

import os
import re
from pathlib import Path

_MEMORY_FIELD = re.compile(r"^(Rss|Pss):\s+(\d+) kB$", re.MULTILINE)
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# /proc/net/tcp's state column for a listening socket.
_LISTEN = "0A"


def all_processes():
    """``{pid: (command name, parent pid)}`` of every process, from ``/proc/<pid>/stat``."""
    found = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_file.read_text()
        except OSError:
            continue
        # The command name in parentheses may hold spaces: the fields after it are fixed.
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        found[int(stat_file.parent.name)] = (name, int(stat[stat.rindex(")") + 2 :].split()[1]))
    return found


def cpu_seconds(pid):
    """utime + stime of ``pid`` (fields 14 and 15 of its stat), 0 when it has ended."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def process_tree(root_pid, everyone=None):
    """``root_pid`` and all its descendants (``everyone`` as :func:`all_processes` gives them)."""
    children = {}
    for pid, (_, parent_pid) in (everyone or all_processes()).items():
        children.setdefault(parent_pid, []).append(pid)
    tree, waiting = [], [root_pid]
    while waiting:
        pid = waiting.pop()
        tree.append(pid)
        waiting.extend(children.get(pid, []))
    return tree


def memory_bytes(pids):
    """(RSS, PSS) in bytes of ``pids`` together; a process that has ended counts nothing."""
    rss = pss = 0
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        fields = dict(_MEMORY_FIELD.findall(rollup))
        rss += int(fields["Rss"]) * 1024
        pss += int(fields["Pss"]) * 1024
    return rss, pss


def listening_pids(port):
    """The pids of the processes holding a TCP socket that listens on ``port`` (IPv4 or IPv6).

    Only processes whose descriptors this user may read are found.
    """
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            inodes |= listening_inodes(Path(table).read_text(), port)
        except OSError:
            continue
    sockets = {f"socket:[{inode}]" for inode in inodes}
    pids = set()
    for descriptors in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(descriptor) in sockets for descriptor in descriptors.iterdir()):
                pids.add(int(descriptors.parent.name))
        except OSError:  # another user's process, or one that ended meanwhile
            continue
    return pids


def listening_inodes(table, port):
    """The inodes of the sockets listening on ``port`` in the text of ``/proc/net/tcp`` or ``tcp6``."""
    inodes = set()
    for line in table.splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and fields[3] == _LISTEN:
            inodes.add(int(fields[9]))
    return inodes
