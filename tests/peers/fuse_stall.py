#!/usr/bin/env python3
"""A FUSE file system whose files never finish closing: what a local user
with fusermount can mount to make a process's close wait for ever.

It speaks the kernel's FUSE protocol on /dev/fuse itself (linux
include/uapi/linux/fuse.h, protocol 7.x; fuse(4)), so it needs no
library: mount(2) with fd=, which takes root (a user would go through
fusermount3; the kernel side is the same).  The root holds one regular
file, "f", readable by all.  Every FLUSH (what close(2) sends, and what
execve(2) sends for each close-on-exec descriptor on the file system) is
left unanswered until the server is told to let go: SIGUSR1 answers the
held ones and every later one at once.  Other requests get their usual
answers, or ENOSYS.

With --hold-opendir, every OPENDIR (an opendir(3) of the root, what a
directory listing starts with) is held the same way, as a dead network
file system holds it; once let go, the root lists as empty.

    fuse_stall.py [--hold-opendir] MOUNTPOINT

prints "ready" on stdout once mounted, then "flush <pid>" for each FLUSH
it holds (the pid of the process closing) and "opendir <pid>" for each
OPENDIR, and unmounts on SIGTERM.
"""
import ctypes
import errno
import os
import select
import signal
import stat
import struct
import sys

FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR = 1, 2, 3
FUSE_OPEN, FUSE_READ, FUSE_RELEASE = 14, 15, 18
FUSE_FLUSH, FUSE_INIT, FUSE_INTERRUPT = 25, 26, 36
FUSE_BATCH_FORGET, FUSE_DESTROY = 42, 38
FUSE_OPENDIR, FUSE_READDIR, FUSE_RELEASEDIR = 27, 28, 29
NO_REPLY = (FUSE_FORGET, FUSE_BATCH_FORGET, FUSE_INTERRUPT)

IN_HDR = struct.Struct("<IIQQIIIHH")    # len opcode unique nodeid uid
                                        # gid pid total_extlen padding
OUT_HDR = struct.Struct("<IiQ")         # len error unique
ROOT, FILE_INO = 1, 2
CONTENT = b"stall\n"
MNT_DETACH = 2


def attr(ino):
    """struct fuse_attr."""
    if ino == ROOT:
        mode, size, nlink = stat.S_IFDIR | 0o755, 0, 2
    else:
        mode, size, nlink = stat.S_IFREG | 0o444, len(CONTENT), 1
    return struct.pack("<QQQQQQIIIIIIIIII", ino, size, 0, 0, 0, 0, 0, 0,
                       0, mode, nlink, 0, 0, 0, 4096, 0)


class Server:
    def __init__(self, mnt, hold_opendir=False):
        self.mnt = mnt
        self.hold_opendir = hold_opendir
        self.fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
        self.held = []
        self.release = False
        self.libc = ctypes.CDLL(None, use_errno=True)
        opts = (f"fd={self.fd},rootmode=40000,user_id=0,group_id=0,"
                "allow_other").encode()
        if self.libc.mount(b"fuse_stall", mnt.encode(), b"fuse",
                           ctypes.c_ulong(0x2 | 0x4), opts) != 0:
            e = ctypes.get_errno()
            sys.exit(f"fuse_stall: mount {mnt}: {os.strerror(e)}")

    def reply(self, unique, err=0, body=b""):
        try:
            os.write(self.fd, OUT_HDR.pack(OUT_HDR.size + len(body), -err,
                                           unique) + body)
        except OSError as e:
            # ENOENT: the request was interrupted meanwhile
            if e.errno != errno.ENOENT:
                raise

    def handle(self, req):
        _, op, unique, node, _, _, pid, _, _ = IN_HDR.unpack_from(req)
        arg = req[IN_HDR.size:]
        if op in NO_REPLY:
            return
        if op == FUSE_INIT:
            major, minor = struct.unpack_from("<II", arg)
            # max_write 4096, time_gran 1, the rest 0
            body = struct.pack("<IIIIHHIIHHII", 7, min(minor, 31), 0, 0,
                               0, 0, 4096, 1, 0, 0, 0, 0) + bytes(24)
            self.reply(unique, 0, body)
        elif op == FUSE_LOOKUP:
            if node == ROOT and arg.rstrip(b"\0") == b"f":
                self.reply(unique, 0, struct.pack("<QQQQII", FILE_INO, 0,
                                                  0, 0, 0, 0) +
                           attr(FILE_INO))
            else:
                self.reply(unique, errno.ENOENT)
        elif op == FUSE_GETATTR:
            self.reply(unique, 0, struct.pack("<QII", 0, 0, 0) + attr(node))
        elif op == FUSE_OPEN:
            self.reply(unique, 0, struct.pack("<QIi", 0, 0, 0))
        elif op == FUSE_READ:
            _, off, size = struct.unpack_from("<QQI", arg)
            self.reply(unique, 0, CONTENT[off:off + size])
        elif op == FUSE_FLUSH:
            self.hold(unique, b"", f"flush {pid}")
        elif op == FUSE_OPENDIR and self.hold_opendir:
            self.hold(unique, struct.pack("<QIi", 0, 0, 0), f"opendir {pid}")
        elif op == FUSE_READDIR:
            self.reply(unique)      # no entries: the end at once
        elif op in (FUSE_RELEASE, FUSE_RELEASEDIR):
            self.reply(unique)
        elif op == FUSE_DESTROY:
            self.reply(unique)
            raise SystemExit(0)
        else:
            self.reply(unique, errno.ENOSYS)

    def hold(self, unique, body, said):
        if self.release:
            self.reply(unique, 0, body)
        else:
            self.held.append((unique, body))
            print(said, flush=True)

    def let_go(self):
        self.release = True
        for u, body in self.held:
            self.reply(u, 0, body)
        self.held = []

    def serve(self):
        rd, wr = os.pipe()
        os.set_blocking(wr, False)
        signal.set_wakeup_fd(wr)
        signal.signal(signal.SIGUSR1, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: None)
        print("ready", flush=True)
        while True:
            r, _, _ = select.select([self.fd, rd], [], [])
            if rd in r:
                for s in os.read(rd, 64):
                    if s == signal.SIGUSR1:
                        self.let_go()
                    elif s == signal.SIGTERM:
                        self.let_go()
                        self.libc.umount2(self.mnt.encode(), MNT_DETACH)
                        return
            if self.fd in r:
                try:
                    req = os.read(self.fd, 1 << 20 | 4096)
                except OSError as e:
                    if e.errno == errno.ENODEV:     # unmounted
                        return
                    if e.errno in (errno.EINTR, errno.ENOENT):
                        continue
                    raise
                self.handle(req)


if __name__ == "__main__":
    args = sys.argv[1:]
    hold = args[:1] == ["--hold-opendir"]
    if hold:
        args = args[1:]
    if len(args) != 1:
        sys.exit("usage: fuse_stall.py [--hold-opendir] MOUNTPOINT")
    Server(args[0], hold_opendir=hold).serve()
