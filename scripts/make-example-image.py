#!/usr/bin/env python3
"""Write a small, well-formed ESP8266 application image for the example
catalog: the 8-byte image header (magic 0xE9, segment count, flash mode,
flash size/frequency, entry point), one segment, zero padding to a 16-byte
boundary and the XOR checksum byte that esptool and the ESP boot ROM use.
It is not a runnable program: it exists so that `ota serve` has a real
"bin" entry to list and send. Usage: make-example-image.py OUT [SIZE]"""

import struct
import sys

ESP_MAGIC = 0xE9
FLASH_MODE_DIO = 0x02
FLASH_1M_40MHZ = 0x20      # high nibble: size (2 = 1 MiB), low: 40 MHz
IRAM_ADDR = 0x40100000
CHECKSUM_SEED = 0xEF


def image(payload_len):
    # Deterministic filler, so the committed file is reproducible.
    data = bytes((i * 131 + 7) & 0xFF for i in range(payload_len))
    out = bytearray(struct.pack("<BBBBI", ESP_MAGIC, 1, FLASH_MODE_DIO,
                                FLASH_1M_40MHZ, IRAM_ADDR))
    out += struct.pack("<II", IRAM_ADDR, len(data)) + data
    checksum = CHECKSUM_SEED
    for b in data:
        checksum ^= b
    out += b"\0" * (15 - len(out) % 16)
    out.append(checksum)
    return bytes(out)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.splitlines()[-1].strip())
    size = int(sys.argv[2]) if len(sys.argv) == 3 else 4096
    with open(sys.argv[1], "wb") as f:
        f.write(image(size))


if __name__ == "__main__":
    main()
