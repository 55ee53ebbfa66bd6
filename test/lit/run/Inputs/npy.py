#!/usr/bin/env python3
# Writes and prints small .npy files for the sparseloom-run lit tests, with
# the standard library only, so the tests keep their inputs as text (RUN
# lines) instead of committed binaries.
#
#   npy.py write OUT DTYPE SHAPE VALUES   DTYPE: f4 f8 i8 i4 b1 u1;
#                                         SHAPE: 2,3 ('' or 'scalar' = rank 0);
#                                         VALUES: comma list (nan, inf, -inf
#                                         allowed), 'seq' (0,1,2,..., cycled
#                                         mod 7 and scaled by 0.25), 'fill:V'
#   npy.py write-fortran OUT SHAPE        an f4 file in Fortran order
#   npy.py dump FILE                      "dtype [shape]" then the values
#   npy.py compare A B TOL                same dtype and shape, and every
#                                         |a - b| <= TOL * (1 + |a|); exit 1
#                                         and say where otherwise
import math
import struct
import sys

FORMATS = {"f4": "f", "f8": "d", "i8": "q", "i4": "i", "b1": "?", "u1": "B"}


def parse_shape(text):
    if text in ("", "scalar"):
        return []
    return [int(d) for d in text.split(",")]


def parse_value(text, dtype):
    if dtype in ("f4", "f8"):
        return float(text)
    if dtype == "b1":
        return text not in ("0", "false", "False")
    return int(text)


def values_for(spec, count, dtype):
    if spec == "seq":
        raw = [(i % 7) * 0.25 if dtype in ("f4", "f8") else i % 7
               for i in range(count)]
    elif spec.startswith("fill:"):
        raw = [spec[5:]] * count
    else:
        raw = spec.split(",") if spec else []
    values = [v if not isinstance(v, str) else parse_value(v, dtype) for v in raw]
    if dtype == "b1":
        values = [bool(v) for v in values]
    if len(values) != count:
        sys.exit("npy.py: %d values for %d elements" % (len(values), count))
    return values


def header(descr, shape, fortran=False):
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    text = "{'descr': '<%s', 'fortran_order': %s, 'shape': (%s), }" % (
        descr if descr not in ("b1", "u1") else "|" + descr,
        "True" if fortran else "False", dims)
    if descr in ("b1", "u1"):
        text = text.replace("'<|", "'|")
    total = 10 + len(text) + 1
    text += " " * ((64 - total % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


def write(path, dtype, shape, spec):
    count = 1
    for d in shape:
        count *= d
    values = values_for(spec, count, dtype)
    body = struct.pack("<%d%s" % (count, FORMATS[dtype]), *values)
    with open(path, "wb") as f:
        f.write(header(dtype, shape) + body)


def load(path):
    data = open(path, "rb").read()
    if data[:6] != b"\x93NUMPY":
        sys.exit("npy.py: %s is not a .npy file" % path)
    hlen = struct.unpack("<H", data[8:10])[0]
    meta = eval(data[10:10 + hlen].decode())  # our own test files only
    dtype = meta["descr"][1:]
    shape = list(meta["shape"])
    count = 1
    for d in shape:
        count *= d
    values = struct.unpack("<%d%s" % (count, FORMATS[dtype]),
                           data[10 + hlen:])
    return dtype, shape, values


def dump(path):
    dtype, shape, values = load(path)
    print("%s [%s]" % (dtype, ",".join(str(d) for d in shape)))
    out = []
    for v in values:
        if isinstance(v, float):
            out.append("nan" if math.isnan(v) else "%.6g" % v)
        else:
            out.append(str(int(v)))
    print(" ".join(out))


def compare(path_a, path_b, tol):
    ta, sa, va = load(path_a)
    tb, sb, vb = load(path_b)
    if (ta, sa) != (tb, sb):
        sys.exit("npy.py: %s is %s %s, %s is %s %s" % (path_a, ta, sa, path_b,
                                                     tb, sb))
    for i, (a, b) in enumerate(zip(va, vb)):
        if abs(a - b) > tol * (1 + abs(a)):
            sys.exit("npy.py: element %d differs: %r vs %r" % (i, a, b))
    print("equal within %g (%d elements)" % (tol, len(va)))


def main(argv):
    if len(argv) == 6 and argv[1] == "write":
        write(argv[2], argv[3], parse_shape(argv[4]), argv[5])
    elif len(argv) == 4 and argv[1] == "write-fortran":
        shape = parse_shape(argv[3])
        count = 1
        for d in shape:
            count *= d
        with open(argv[2], "wb") as f:
            f.write(header("f4", shape, fortran=True) +
                    struct.pack("<%df" % count, *([0.0] * count)))
    elif len(argv) == 3 and argv[1] == "dump":
        dump(argv[2])
    elif len(argv) == 5 and argv[1] == "compare":
        compare(argv[2], argv[3], float(argv[4]))
    else:
        sys.exit("usage: npy.py write OUT DTYPE SHAPE VALUES | write-fortran "
                 "OUT SHAPE | dump FILE | compare A B TOL (see the comment at "
                 "the top of npy.py)")


if __name__ == "__main__":
    main(sys.argv)
