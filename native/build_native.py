"""cffi builder for gxcpoold._native.

Every C module in native/ is a pair: NAME.c (the code, including NAME.h) and
NAME.cdef (the declarations Python may call, in the subset of C that cffi's
cdef parser reads: no preprocessor lines).  This builder compiles all of them
into one extension so adding a module never means editing this file.
"""
import glob
import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def _modules():
    return sorted(os.path.splitext(os.path.basename(p))[0]
                  for p in glob.glob(os.path.join(HERE, "*.cdef")))


ffibuilder = FFI()
ffibuilder.cdef("\n".join(_read(os.path.join(HERE, m + ".cdef")) for m in _modules()))
ffibuilder.set_source(
    "gxcpoold._native",
    "\n".join('#include "%s.h"' % m for m in _modules()),
    sources=[os.path.relpath(p) for p in sorted(glob.glob(os.path.join(HERE, "*.c")))],
    include_dirs=[os.path.relpath(HERE)],
    extra_compile_args=["-std=c99", "-O3", "-Wall", "-Wextra", "-pthread"],
    extra_link_args=["-pthread"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
