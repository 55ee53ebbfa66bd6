"""Damages a file for the error tests of sparseloom-dump.

usage: corrupt.py flip IN OUT OFFSET      xor byte OFFSET with 0x01
       corrupt.py truncate IN OUT SIZE    keep the first SIZE bytes
       corrupt.py set-u16 IN OUT OFFSET V write little-endian V at OFFSET
A negative OFFSET counts from the end.
"""
import struct
import sys


def main():
    command, src, dst = sys.argv[1:4]
    data = bytearray(open(src, "rb").read())
    if command == "flip":
        offset = int(sys.argv[4])
        data[offset] ^= 0x01
    elif command == "truncate":
        data = data[: int(sys.argv[4])]
    elif command == "set-u16":
        offset, value = int(sys.argv[4]), int(sys.argv[5])
        data[offset:offset + 2] = struct.pack("<H", value)
    else:
        sys.exit("unknown command " + command)
    open(dst, "wb").write(bytes(data))


main()
