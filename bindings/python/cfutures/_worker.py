# SPDX-License-Identifier: MIT
"""Python functions in a process pool's worker processes.

A Python call travels as a library task of its own, registered under PYTHON_TASK: its argument is the pickled
(fn, args, kwargs), or a plain function's reference by name and the pickled (args, kwargs) (dump_call), its result
the pickled return value. The library moves both through its shared memory. A
failure carries the exception's type name and message, and as its detail the remote traceback's text followed
by the pickled exception (base64, after DETAIL_MARKER), so that the caller raises the task's own exception with
the traceback as its __cause__, as concurrent.futures does.

How a worker gets an interpreter:

- fork and forkserver: the worker is a fork of this process (or of the forkserver, itself a fork of it). The
  library forks from its own threads, so this module hands it CPython's own fork protocol (cf_set_fork_hooks):
  the forking thread takes the GIL and the import lock first, and the child repairs the interpreter
  (PyOS_AfterFork_Child: the other threads are gone) before any Python code runs there; as os.fork() does.
- spawn: the worker is a new interpreter (sys.executable) that runs spawned_main(): it prepares itself as
  multiprocessing's spawn does (sys.path, working directory, the main module imported as __mp_main__), loads the
  parent's task libraries, registers the tasks and serves them (cf_process_worker_entry).
"""
from __future__ import annotations

import base64
import copyreg
import ctypes
import itertools
import mmap
import os
import pickle
import sys
import traceback
import types

from . import _lib

PYTHON_TASK = b"cfutures.python"
PYTHON_INITIALIZER = b"cfutures.python.initializer"
DETAIL_MARKER = "\n--- cfutures: the exception, pickled (base64) ---\n"
# A result's first byte says how the rest is to be read: a pickle, or the bytes of a large bytes result.
_PICKLED_RESULT = b"P"
_RAW_RESULT = b"B"
_RAW_BYTES_MIN = 64 * 1024
_VIEW_MIN = 64 * 1024   # arguments and results from this size are read in place rather than copied first
# Calls and results from this size travel as pickle streams written and read piece by piece (_Pieces, _Reader),
# so that a large bytes inside is copied once each way, straight between its object and the shared memory.
STREAM_MIN = 1 << 20

# The code a spawned worker interpreter runs: argv[1] is the directory holding the cfutures package, argv[2] the
# preparation data (spawn_arguments).
_SPAWN_CODE = ("import sys; sys.path.insert(0, sys.argv[1]); "
               "from cfutures._worker import spawned_main; spawned_main(sys.argv[2])")


# --------------------------------------------------------------------------------------------------------------
# In the worker: the tasks


def read_bytes(address, length):
    """Bytes in C memory (a task's argument, a future's result): copied when small (the quickest way to read
    them), a view of them when large."""
    if length < _VIEW_MIN:
        return (ctypes.c_char * length).from_address(address).raw if length else b""
    return memoryview((ctypes.c_char * length).from_address(address)).cast("B")


# --------------------------------------------------------------------------------------------------------------
# Large data, on both sides. A new large bytes object is fresh memory, which the kernel hands out a page at a
# time as it is first written: for 64 MiB, 16384 page faults, which cost more than the copy itself. Where the
# kernel offers transparent huge pages on request (Linux, "madvise" mode), the object's memory is asked for them
# before it is filled: 32 faults instead. The advice covers whole 2 MiB pages inside the object only, and changes
# nothing but the page size.

_HUGE_PAGE = 2 << 20
_HUGE_MIN = 2 * _HUGE_PAGE   # below this, few whole huge pages fit inside the object: plain pages
_MADV_HUGEPAGE = getattr(mmap, "MADV_HUGEPAGE", None)
_madvise = None
if _MADV_HUGEPAGE is not None:
    try:
        _madvise = ctypes.CDLL(None, use_errno=True).madvise
        _madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        _madvise.restype = ctypes.c_int
    except (OSError, AttributeError):
        _madvise = None
# A bytes object whose contents are still to be written: ours to fill until anyone else sees it.
_new_bytes = ctypes.pythonapi.PyBytes_FromStringAndSize
_new_bytes.restype = ctypes.py_object
_new_bytes.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t]


def _fill(address, source, length):
    """Copies length bytes from source to fresh memory at address, asking for huge pages first when it is large."""
    if length >= _HUGE_MIN and _madvise is not None:
        start = -(-address // _HUGE_PAGE) * _HUGE_PAGE
        end = (address + length) // _HUGE_PAGE * _HUGE_PAGE
        _madvise(start, end - start, _MADV_HUGEPAGE)   # (advice: a refusal changes nothing)
    ctypes.memmove(address, source, length)


def bytes_at(address, length):
    """A new bytes object with the length bytes at address (C memory), copied once."""
    if length < _HUGE_MIN:
        return ctypes.string_at(address, length) if length else b""
    data = _new_bytes(None, length)
    _fill(ctypes.cast(data, ctypes.c_void_p).value, address, length)
    return data


class _Pieces:
    """A pickler's file that keeps what it is given: the pickler's frames, and each large bytes-like payload as
    the object itself (the C pickler writes those past its buffer), so that nothing is joined into a copy."""
    __slots__ = ("pieces",)

    def __init__(self):
        self.pieces = []

    def write(self, data):
        self.pieces.append(data)
        return memoryview(data).nbytes


def dump_pieces(obj):
    """obj pickled, as a list of bytes-like pieces to lay end to end."""
    sink = _Pieces()
    pickle.Pickler(sink, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return sink.pieces


def piece_slices(pieces):
    """(array of cf_slice, keepalive) over the pieces, for a C call that copies them before it returns. The copy
    runs without the GIL: a piece that is not immutable bytes (a bytearray the pickler passed on as itself) is
    copied here first, so that no other thread can change it meanwhile."""
    slices = (_lib.cf_slice * len(pieces))()
    keep = [piece if type(piece) is bytes else memoryview(piece).tobytes(order="A") for piece in pieces]
    for i, piece in enumerate(keep):
        slices[i].data, slices[i].len = ctypes.cast(piece, ctypes.c_void_p).value, len(piece)
    return slices, keep


def _write_pieces(address, pieces):
    """Copies bytes pieces end to end to address."""
    for piece in pieces:
        ctypes.memmove(address, piece, len(piece))
        address += len(piece)


class _Reader:
    """An unpickler's file over bytes in C memory (a large call or result): the unpickler reads opcodes and frames
    through read(), and a large bytes or bytearray straight into its new object through readinto(); never past
    the end it was given."""
    __slots__ = ("_address", "_view", "_pos", "_end")

    def __init__(self, address, length):
        self._address = address
        self._view = memoryview((ctypes.c_char * length).from_address(address)).cast("B") if length else b""
        self._pos = 0
        self._end = length

    def _take(self, n):
        pos = self._pos
        n = self._end - pos if n is None or n < 0 else min(n, self._end - pos)
        self._pos = pos + n
        return pos, n

    def read(self, n=-1):
        pos, n = self._take(n)
        return ctypes.string_at(self._address + pos, n) if n else b""

    def readinto(self, buffer):
        target = memoryview(buffer).cast("B")
        pos, n = self._take(target.nbytes)
        if n >= _HUGE_MIN and not target.readonly:
            _fill(ctypes.addressof((ctypes.c_char * n).from_buffer(target)), self._address + pos, n)
        else:
            target[:n] = self._view[pos:pos + n]
        return n

    def readline(self, limit=-1):
        # (Only text opcodes of protocols 0 to 3 read lines: streams of the highest protocol have none.)
        end = self._end if limit is None or limit < 0 else min(self._end, self._pos + limit)
        at = bytes(self._view[self._pos:end]).find(b"\n")
        return self.read(end - self._pos if at < 0 else at + 1)


def load_from(address, length):
    """The object pickled in the length bytes at address: small ones at once, large ones through a _Reader."""
    if length < STREAM_MIN:
        return pickle.loads(read_bytes(address, length))
    reader = _Reader(address, length)
    obj = pickle.Unpickler(reader).load()
    if reader._pos != length:
        raise pickle.UnpicklingError("%d bytes after the end of the pickle" % (length - reader._pos))
    return obj


def _raise_remotely(ctx, exc):
    """Fails the task with exc: its type and message, and the traceback and the pickled exception as detail."""
    tb_text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        blob = pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as pickling_error:   # the exception cannot travel: say why, with its text
        substitute = pickle.PicklingError("the exception %r raised by the task cannot be pickled: %s"
                                          % (exc, pickling_error))
        blob = pickle.dumps(substitute, protocol=pickle.HIGHEST_PROTOCOL)
    detail = tb_text + DETAIL_MARKER + base64.b64encode(blob).decode("ascii")
    typ = type(exc).__qualname__.encode("utf-8", "replace")
    message = _safe_text(exc).encode("utf-8", "replace")
    return _lib.cf_task_raise_detail(ctx, typ, message, detail.encode("utf-8", "replace"))


def _safe_text(exc):
    try:
        return str(exc)
    except BaseException:
        return "<unprintable %s>" % type(exc).__name__


def _die_unreadable_call(exc):
    """A call that cannot be unpickled here ends the worker, as in concurrent.futures (BrokenProcessPool):
    nothing of the caller's can run in this process."""
    try:
        sys.stderr.write("cfutures worker %d: cannot read the call: %s\n%s"
                         % (os.getpid(), _safe_text(exc), "".join(traceback.format_exception(exc))))
        sys.stderr.flush()
    finally:
        os._exit(1)


# --------------------------------------------------------------------------------------------------------------
# The call. pickle writes a plain function as a reference, its module's name and its qualified name, which the
# unpickler looks up again (importing the module): most of what pickling and unpickling a small call costs. So a
# call of a plain function travels as that reference by name (b"G", the length, module and qualified name apart
# by a NUL) followed by the pickle of (args, kwargs); any other call as the pickle of (fn, args, kwargs). Each side
# checks every time what pickle would: the caller that the names still lead to the function (else it pickles the
# call whole, and pickle says why it cannot), the worker looks them up in the imported module as the unpickler
# does (the unpickler itself imports a module not imported yet).

_BY_NAME = b"G"
_NAMES_MAX = 1024
_names_sent = {}     # in the caller: function -> (the call's header, module, qualified name, path)
_names_read = {}     # in a worker: the names' bytes -> (module, qualified name, path)
_MISSING = object()


def _lookup(module, path):
    """The object at the dotted path in the imported module (sys.modules), as pickle finds it; _MISSING if none."""
    obj = sys.modules.get(module, _MISSING)
    try:
        for part in path:
            obj = getattr(obj, part)
    except Exception:
        return _MISSING
    return obj


def _names_of(fn):
    """fn's entry in _names_sent, made now; None when it cannot travel by name."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if type(module) is not str or type(qualname) is not str or "\0" in module or "\0" in qualname:
        return None
    names = (module + "\0" + qualname).encode("utf-8", "surrogatepass")
    if len(names) > 0xFFFF:
        return None
    if len(_names_sent) >= _NAMES_MAX:
        _names_sent.clear()
    entry = _names_sent[fn] = (_BY_NAME + len(names).to_bytes(2, "little") + names, module, qualname,
                               tuple(qualname.split(".")))
    return entry


def dump_call(fn, args, kwargs):
    """PYTHON_TASK's argument for fn(*args, **kwargs); raises what pickle raises."""
    # (Reached only with pickle's own rules: a plain function is always pickled by reference, and one with an
    # extension code of copyreg's would be written as that code.)
    if type(fn) is types.FunctionType and not copyreg._extension_registry:
        entry = _names_sent.get(fn)
        if entry is None or fn.__module__ != entry[1] or fn.__qualname__ != entry[2]:
            entry = _names_of(fn)
        if entry is not None and _lookup(entry[1], entry[3]) is fn:
            return entry[0] + pickle.dumps((args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    return pickle.dumps((fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)


def _global_pickle(module, qualname):
    """A pickle of nothing but a reference to module's qualname (protocol 4: BINUNICODE twice, STACK_GLOBAL)."""
    m, q = module.encode("utf-8", "surrogatepass"), qualname.encode("utf-8", "surrogatepass")
    return (b"\x80\x04X" + len(m).to_bytes(4, "little") + m + b"X" + len(q).to_bytes(4, "little") + q
            + b"\x93.")


def _function_named(names):
    target = _names_read.get(names)
    if target is None:
        module, _, qualname = names.decode("utf-8", "surrogatepass").partition("\0")
        if len(_names_read) >= _NAMES_MAX:
            _names_read.clear()
        target = _names_read[names] = (module, qualname, tuple(qualname.split(".")))
    module, qualname, path = target
    fn = _lookup(module, path)
    if fn is _MISSING:   # not imported here yet (or not there): as the unpickler, which imports it or says why
        return pickle.loads(_global_pickle(module, qualname))
    sys.audit("pickle.find_class", module, qualname)   # (the event the unpickler's lookup raises)
    return fn


def load_call(address, length):
    """(fn, args, kwargs) from PYTHON_TASK's argument (dump_call, or dump_pieces for a call with a large buffer)."""
    data = read_bytes(address, length)
    if data[:1] != _BY_NAME:
        return load_from(address, length)
    end = 3 + (data[1] | data[2] << 8) if length >= 3 else length + 1
    if end > length:
        raise pickle.UnpicklingError("a call's function name runs past its end")
    fn = _function_named(bytes(data[3:end]))
    if length - end < STREAM_MIN:
        args, kwargs = pickle.loads(data[end:])
    else:
        args, kwargs = load_from(address + end, length - end)
    return fn, args, kwargs


@_lib.TASK_FN
def _run_call(ctx, arg, arg_len, _user_data):
    try:
        fn, args, kwargs = load_call(arg, arg_len)
    except BaseException as exc:
        _die_unreadable_call(exc)
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        return _raise_remotely(ctx, exc)
    finally:
        fn = args = kwargs = None
    if type(result) is bytes and len(result) >= _RAW_BYTES_MIN:
        return _return_raw_bytes(ctx, result)
    try:
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException as exc:
        return _raise_remotely(ctx, exc)
    if len(data) < STREAM_MIN:
        data = _PICKLED_RESULT + data
        return _lib.cf_task_return(ctx, data, len(data))
    return _return_pieces(ctx, (_PICKLED_RESULT, data))


def _return_raw_bytes(ctx, result):
    """A large bytes result goes to the shared memory as it is, without pickling it into a copy first."""
    return _return_pieces(ctx, (_RAW_RESULT, result))


def _return_pieces(ctx, pieces):
    """The result made of bytes pieces, each copied once, straight into the shared memory."""
    block = _lib.cf_task_return_buffer(ctx, sum(len(p) for p in pieces))
    if not block:
        return _lib.CF_E_TOO_LARGE
    _write_pieces(block, pieces)
    return _lib.CF_OK


@_lib.TASK_FN
def _run_initializer(ctx, arg, arg_len, _user_data):
    try:
        how, what, authkey = pickle.loads(read_bytes(arg, arg_len))
        if authkey is not None:   # a spawned worker: the caller's, for multiprocessing's managers and proxies
            import multiprocessing
            multiprocessing.current_process().authkey = authkey
        initializer, initargs = _inherited_initializers[what] if how == "inherited" else what
        if initializer is not None:
            initializer(*initargs)
    except BaseException as exc:
        import logging
        logging.getLogger("concurrent.futures").critical("Exception in initializer:", exc_info=True)
        return _raise_remotely(ctx, exc)
    return _lib.CF_OK


# Fork pools' initializers and their arguments, which a forked worker finds in its copy of this memory: they
# need not be picklable (a multiprocessing.Queue, say, may only be inherited).
_inherited_initializers = {}
_initializer_tokens = itertools.count(1)


def initializer_call(initializer, initargs, start_method):
    """The argument of PYTHON_INITIALIZER for a pool, and the token to forget_initializer once the pool is gone
    (None when nothing was kept)."""
    authkey = None
    if start_method == "spawn":
        import multiprocessing
        authkey = bytes(multiprocessing.current_process().authkey)
    call = (initializer, tuple(initargs)) if initializer is not None else (None, ())
    if start_method == "fork" and initializer is not None:
        token = next(_initializer_tokens)
        _inherited_initializers[token] = call
        return pickle.dumps(("inherited", token, None), protocol=pickle.HIGHEST_PROTOCOL), token
    return pickle.dumps(("pickled", call, authkey), protocol=pickle.HIGHEST_PROTOCOL), None


def forget_initializer(token):
    if token is not None:
        _inherited_initializers.pop(token, None)


def process_chunk(fn, chunk):
    """Runs fn on each argument tuple of a map chunk, in a worker: the chunk's results, in order."""
    return [fn(*args) for args in chunk]


def _register_tasks():
    _lib.check(_lib.cf_task_register(PYTHON_TASK, _run_call, None), "cf_task_register(cfutures.python)")
    _lib.check(_lib.cf_task_register(PYTHON_INITIALIZER, _run_initializer, None),
               "cf_task_register(cfutures.python.initializer)")


# --------------------------------------------------------------------------------------------------------------
# In the caller: the fork hooks, spawn's command line, and reading what a worker sent back


def _c_function(name):
    return ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value


_PYGILSTATE_UNLOCKED = 1   # what PyGILState_Ensure returns on a thread that did not hold the GIL


def _hook_list(*hooks):
    return (_lib.cf_fork_hook * len(hooks))(*[_lib.cf_fork_hook(fn, data) for fn, data in hooks])


def install_fork_hooks():
    """Gives the library CPython's fork protocol, so that forked workers can run Python. The library never
    forks from a thread that holds the GIL (every call into it releases the GIL), so PyGILState_Ensure takes it,
    and PyGILState_Release(UNLOCKED) lets it go again in the parent. In the child, where PyOS_AfterFork_Child
    has made the forking thread the only one, PyEval_SaveThread lets the GIL go but keeps that thread's state:
    it is the interpreter's only one, and the next PyGILState_Ensure (every task call) finds it again. (Deleting
    it, as PyGILState_Release would, leaves the interpreter with no thread state, and CPython 3.11 then fails
    to make a new one: "init_threadstate: thread state already initialized".)"""
    ensure, release = _c_function("PyGILState_Ensure"), _c_function("PyGILState_Release")
    global _hooks
    _hooks = (_hook_list((ensure, None), (_c_function("PyOS_BeforeFork"), None)),
              _hook_list((_c_function("PyOS_AfterFork_Parent"), None), (release, _PYGILSTATE_UNLOCKED)),
              _hook_list((_c_function("PyOS_AfterFork_Child"), None), (_c_function("PyEval_SaveThread"), None)))
    before, parent, child = _hooks
    _lib.check(_lib.cf_set_fork_hooks(before, len(before), parent, len(parent), child, len(child)),
               "cf_set_fork_hooks")


def remove_fork_hooks():
    """At interpreter exit: a fork after it must not call into a finalized interpreter."""
    if _lib.cf_set_fork_hooks is not None:
        _lib.cf_set_fork_hooks(None, 0, None, 0, None, 0)


_hooks = None


def spawn_arguments(libraries):
    """The worker_program and worker_args of a spawn pool: this interpreter, running spawned_main with what a
    new interpreter needs to find the caller's functions (multiprocessing's preparation data) and tasks."""
    import multiprocessing.spawn
    data = multiprocessing.spawn.get_preparation_data("cfutures-worker")
    data.pop("authkey", None)   # (no multiprocessing connections here; and a command line is visible to all)
    data["cfutures_libraries"] = list(libraries)
    encoded = base64.b64encode(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)).decode("ascii")
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return sys.executable, ["-c", _SPAWN_CODE, package_parent, encoded]


def spawned_main(encoded):
    """The life of a spawned worker interpreter: prepare as multiprocessing's spawn does, then serve tasks."""
    import multiprocessing.spawn
    data = pickle.loads(base64.b64decode(encoded))
    libraries = data.pop("cfutures_libraries", [])
    multiprocessing.spawn.prepare(data)
    from . import _process
    for name in libraries:
        _process.load_library(name)
    _lib.cf_process_worker_entry()   # serves tasks and ends the process
    sys.stderr.write("cfutures: spawned_main ran outside a spawned worker\n")
    os._exit(2)


def load_result(address, length):
    """The result a worker sent back, from the C future's length bytes at address: a small one read at once, a
    large one (STREAM_MIN and more) copied once, straight from there into its objects."""
    small = length < STREAM_MIN
    view = read_bytes(address, length) if small else None
    kind = view[:1] if small else ctypes.string_at(address, 1)   # (a memoryview compares by its bytes)
    if kind == _RAW_RESULT:
        return bytes(view[1:]) if small else bytes_at(address + 1, length - 1)
    if kind != _PICKLED_RESULT:
        raise pickle.UnpicklingError("a Python task's result begins with neither %r nor %r"
                                     % (_PICKLED_RESULT, _RAW_RESULT))
    return pickle.loads(view[1:]) if small else load_from(address + 1, length - 1)


def remote_exception(detail):
    """The exception a Python task raised, from its failure's detail: the task's own exception with the remote
    traceback as __cause__ (as concurrent.futures); None when the detail carries no pickled exception."""
    tb_text, marker, encoded = detail.partition(DETAIL_MARKER)
    if not marker:
        return None
    from concurrent.futures.process import _RemoteTraceback
    exc = pickle.loads(base64.b64decode(encoded))
    exc.__cause__ = _RemoteTraceback('\n"""\n%s"""' % tb_text)
    return exc


_register_tasks()
if _lib.HAVE_PYTHON_WORKERS:
    install_fork_hooks()
