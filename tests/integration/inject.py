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

SYS = {"openat": 257, "execve": 59, "ptrace": 101, "getpid": 39,
       "unlink": 87, "socket": 41, "exit_group": 231}
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
    for _ in range(tries - 1):
        try:
            return _syscall(pid, name, args)
        except Busy:
            time.sleep(0.01)
    return _syscall(pid, name, args)


def _syscall(pid, name, args):
    _ptrace(PTRACE_ATTACH, pid)
    try:
        _, status = os.waitpid(pid, 0)
        if not os.WIFSTOPPED(status):
            raise Dead(status)
        saved = Regs()
        _ptrace(PTRACE_GETREGS, pid, 0, ctypes.addressof(saved))
        insn = _ptrace(PTRACE_PEEKTEXT, pid, saved.rip - 2) & 0xffff
        if insn != 0x050f or saved.orig_rax == U64:
            raise Busy(f"pid {pid} is not in a system call")
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
        rv = regs.rax - (1 << 64) if regs.rax >> 63 else regs.rax
        # back to its epoll_wait, which returns EINTR: libev retries
        saved.rax = (-4) & U64
        saved.orig_rax = U64
        _ptrace(PTRACE_SETREGS, pid, 0, ctypes.addressof(saved))
        _ptrace(PTRACE_DETACH, pid, 0, 0)
        return rv
    except Dead:
        raise
    except BaseException:
        try:
            _ptrace(PTRACE_DETACH, pid, 0, 0)
        except OSError:
            pass
        raise
