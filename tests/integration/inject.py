"""Make a running worker execute one system call, as code an attacker got
to run in it would: ptrace(2) from root, x86_64 only.

The worker sleeps in a system call (epoll_wait) of its event loop, so the
two bytes before its instruction pointer are a `syscall` instruction.
The registers are pointed at it with the call's number and arguments,
strings are written below the stack pointer (past the red zone), one
single step runs it, and the worker is put back as it was.  The filter
of the worker sees the call exactly as if the worker had made it.
"""
import ctypes
import os
import platform
import time

PTRACE_PEEKTEXT = 1
PTRACE_POKEDATA = 5
PTRACE_SINGLESTEP = 9
PTRACE_GETREGS = 12
PTRACE_SETREGS = 13
PTRACE_ATTACH = 16
PTRACE_DETACH = 17

SYS = {"read": 0, "close": 3, "write": 1, "openat": 257, "execve": 59, "ptrace": 101, "getpid": 39,
       "unlink": 87, "socket": 41, "exit_group": 231, "ioctl": 16,
       "pread64": 17, "lseek": 8}
AT_FDCWD = -100
REG_NAMES = ("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9",
             "r8", "rax", "rcx", "rdx", "rsi", "rdi", "orig_rax", "rip",
             "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds", "es",
             "fs", "gs")
U64 = (1 << 64) - 1


class Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulonglong) for n in REG_NAMES]


def supported():
    """ptrace injection is written for x86_64 and needs root."""
    return platform.machine() == "x86_64" and os.geteuid() == 0


_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                         ctypes.c_void_p]
_libc.ptrace.restype = ctypes.c_long


def _ptrace(req, pid, addr=0, data=0):
    ctypes.set_errno(0)
    r = _libc.ptrace(req, pid, ctypes.c_void_p(addr), ctypes.c_void_p(data))
    e = ctypes.get_errno()
    if r == -1 and e != 0:
        raise OSError(e, f"ptrace({req}, {pid}): {os.strerror(e)}")
    return r


def _poke_bytes(pid, addr, data):
    data += b"\0" * (-len(data) % 8)
    for i in range(0, len(data), 8):
        word = int.from_bytes(data[i:i + 8], "little")
        _ptrace(PTRACE_POKEDATA, pid, addr + i, word)


class Dead(Exception):
    """The worker died of the injected call."""

    def __init__(self, status):
        super().__init__(f"wait status {status:#x}")
        self.status = status
        self.signal = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0


class Busy(Exception):
    """The worker was stopped outside a system call: try again."""


def syscall(pid, name, *args, tries=200):
    """Run syscall `name` in `pid` with `args` (ints, or bytes, which are
    copied into the worker first).  Its return value (a negative errno on
    failure); raises Dead if the worker died of it.  A worker caught
    running is let go and tried again, until it waits in its loop."""
    with held(pid, tries) as h:
        return h.syscall(name, *args)


class held:
    """The worker stopped under ptrace in its loop's system call for the
    `with` block: it runs nothing of its own (it cannot answer the
    master) while h.syscall() runs calls in it; let go at the end."""

    def __init__(self, pid, tries=200):
        self.pid, self.tries = pid, tries

    def __enter__(self):
        for i in range(self.tries):
            self.saved = _attach(self.pid)
            insn = _ptrace(PTRACE_PEEKTEXT, self.pid,
                           self.saved.rip - 2) & 0xffff
            if insn == 0x050f and _waiting(self.saved):
                return self
            _ptrace(PTRACE_DETACH, self.pid, 0, 0)
            time.sleep(0.01)
        raise Busy(f"pid {self.pid} is not waiting in its loop")

    def __exit__(self, typ, val, tb):
        if typ is Dead:
            return False
        try:
            # back to its epoll_wait, which returns EINTR: libev retries
            self.saved.rax = (-4) & U64
            self.saved.orig_rax = U64
            _ptrace(PTRACE_SETREGS, self.pid, 0,
                    ctypes.addressof(self.saved))
        finally:
            _ptrace(PTRACE_DETACH, self.pid, 0, 0)
        return False

    def syscall(self, name, *args):
        return _run(self.pid, self.saved, name, args)


# epoll_wait, epoll_pwait, epoll_pwait2: the event loop's wait
EPOLL_WAITS = (232, 281, 441)
# what an interrupted call holds at the stop: EINTR, or a restart code
INTERRUPTED = (4, 512, 513, 514, 516)


def _waiting(regs):
    """Stopped in the loop's wait, interrupted by the stop.  Not just
    after another call that had finished (a read of its control edge, a
    send): put back as EINTR, its result would be lost, the bytes it
    read or wrote with it, and the worker's frames out of step."""
    rax = regs.rax - (1 << 64) if regs.rax >> 63 else regs.rax
    return regs.orig_rax in EPOLL_WAITS and -rax in INTERRUPTED


def _attach(pid):
    _ptrace(PTRACE_ATTACH, pid)
    _, status = os.waitpid(pid, 0)
    if not os.WIFSTOPPED(status):
        raise Dead(status)
    saved = Regs()
    try:
        _ptrace(PTRACE_GETREGS, pid, 0, ctypes.addressof(saved))
    except BaseException:
        _ptrace(PTRACE_DETACH, pid, 0, 0)
        raise
    return saved


def _run(pid, saved, name, args):
    regs = Regs.from_buffer_copy(saved)
    scratch = (saved.rsp - 8192) & ~0xf
    vals = []
    for a in args:
        if isinstance(a, bytes):
            _poke_bytes(pid, scratch, a + b"\0")
            vals.append(scratch)
            scratch += (len(a) + 1 + 15) & ~0xf
        else:
            vals.append(a & U64)
    vals += [0] * (6 - len(vals))
    regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9 = vals
    regs.rax = SYS[name]
    regs.orig_rax = U64            # no restart of the interrupted call
    regs.rip = saved.rip - 2
    _ptrace(PTRACE_SETREGS, pid, 0, ctypes.addressof(regs))
    _ptrace(PTRACE_SINGLESTEP, pid)
    _, status = os.waitpid(pid, 0)
    if not os.WIFSTOPPED(status):
        raise Dead(status)
    _ptrace(PTRACE_GETREGS, pid, 0, ctypes.addressof(regs))
    return regs.rax - (1 << 64) if regs.rax >> 63 else regs.rax
