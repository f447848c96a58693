"""Route regexes checked by PCRE, the engine the router compiles them with.

Kong dry-runs a regex path with ``ngx.re.find("", regex, "aj")``; the data
plane's router compiles it with the same library. Python's ``re`` is another
dialect: it refuses valid PCRE that Kong accepts (an inline flag after the
start, ``/(?i)users``; ``\\Q...\\E``; ``\\h``; branch reset groups; ``\\k<name>``)
and would answer with its own messages. So the check calls libpcre through
ctypes, as the nginx Lua module does, and words a failure as that module
does. Where the library cannot be loaded, ``re`` stands in.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import re
import threading

# ngx.re's "a" flag; "j" (JIT) changes no verdict
_PCRE_ANCHORED = 0x10
_LIBRARY_NAMES = ("libpcre.so.3", "libpcre.so.1", "libpcre.so")
_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")

_lock = threading.Lock()
_loaded: list = []  # [library or None], filled on first use


def _library() -> ctypes.CDLL | None:
    with _lock:
        if not _loaded:
            _loaded.append(_open())
        return _loaded[0]


def _open() -> ctypes.CDLL | None:
    names = list(_LIBRARY_NAMES)
    found = ctypes.util.find_library("pcre")
    if found:
        names.insert(0, found)
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.pcre_compile.restype = ctypes.c_void_p
        lib.pcre_compile.argtypes = [ctypes.c_char_p, ctypes.c_int,
                                     ctypes.POINTER(ctypes.c_char_p),
                                     ctypes.POINTER(ctypes.c_int), ctypes.c_void_p]
        return lib
    return None


def compile_error(regex: str) -> str | None:
    """None when ``regex`` compiles as the router compiles it; otherwise the
    error ``ngx.re`` reports (``pcre_compile() failed: ... in "..."``)."""
    lib = _library()
    if lib is None:
        return _python_error(regex)
    pattern = regex.encode()
    if b"\0" in pattern:
        # ngx.re hands the pattern over as a C string: it ends at the NUL
        pattern = pattern.split(b"\0", 1)[0]
    errstr, erroff = ctypes.c_char_p(), ctypes.c_int()
    code = lib.pcre_compile(pattern, _PCRE_ANCHORED, ctypes.byref(errstr),
                            ctypes.byref(erroff), None)
    if code:
        ctypes.CFUNCTYPE(None, ctypes.c_void_p)(
            ctypes.c_void_p.in_dll(lib, "pcre_free").value)(code)
        return None
    reason = (errstr.value or b"").decode(errors="replace")
    text = pattern.decode(errors="replace")
    if erroff.value >= len(pattern):
        return f'pcre_compile() failed: {reason} in "{text}"'
    rest = pattern[erroff.value:].decode(errors="replace")
    return f'pcre_compile() failed: {reason} in "{text}" at "{rest}"'


def _python_error(regex: str) -> str | None:
    try:
        re.compile(_NAMED_GROUP.sub("(?P<", regex))
    except re.error as exc:
        return exc.msg
    return None
