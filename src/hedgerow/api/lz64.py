"""lz-string's `decompressFromBase64`, as very old posthog-js sent (`compression=lz64`).

The stream is a sequence of variable-width codes over the base64 alphabet (6 bits a symbol,
read most significant bit first). It yields UTF-16 code units, joined here into text.
"""

from __future__ import annotations

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_VALUE = {c: i for i, c in enumerate(_ALPHABET)}


class LZStringError(ValueError):
    pass


class _Bits:
    __slots__ = ("data", "index", "position", "value")

    def __init__(self, data: str):
        self.data = data
        self.position = 32
        self.index = 1
        try:
            self.value = _VALUE[data[0]]
        except KeyError:
            raise LZStringError("not lz-string base64") from None

    def read(self, count: int) -> int:
        result = 0
        power = 1
        for _ in range(count):
            bit = self.value & self.position
            self.position >>= 1
            if self.position == 0:
                self.position = 32
                if self.index < len(self.data):
                    try:
                        self.value = _VALUE[self.data[self.index]]
                    except KeyError:
                        raise LZStringError("not lz-string base64") from None
                else:
                    self.value = 0
                self.index += 1
            if bit:
                result |= power
            power <<= 1
        return result


def _units_to_text(units: list[str]) -> str:
    # Code units may pair into surrogates (characters outside the BMP); rejoin them.
    joined = "".join(units)
    return joined.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def decompress_from_base64(data: str, *, max_units: int = 50_000_000) -> str:
    data = data.strip().replace(" ", "+")
    if not data:
        return ""
    bits = _Bits(data)
    dictionary: dict[int, str] = {0: "0", 1: "1", 2: "2"}
    next_code = 4
    width = 3
    enlarge_in = 4
    kind = bits.read(2)
    if kind == 2:
        return ""
    if kind not in (0, 1):
        raise LZStringError("bad lz-string header")
    entry = chr(bits.read(8 if kind == 0 else 16))
    dictionary[3] = entry
    word = entry
    out = [entry]
    produced = 1
    while True:
        if bits.index > len(data) + 1:
            raise LZStringError("truncated lz-string data")
        code = bits.read(width)
        if code in (0, 1):
            dictionary[next_code] = chr(bits.read(8 if code == 0 else 16))
            next_code += 1
            code = next_code - 1
            enlarge_in -= 1
        elif code == 2:
            return _units_to_text(out)
        if enlarge_in == 0:
            enlarge_in = 1 << width
            width += 1
        if code in dictionary:
            entry = dictionary[code]
        elif code == next_code:
            entry = word + word[0]
        else:
            raise LZStringError("corrupt lz-string data")
        out.append(entry)
        produced += len(entry)
        if produced > max_units:
            raise LZStringError("lz-string payload too large")
        dictionary[next_code] = word + entry[0]
        next_code += 1
        enlarge_in -= 1
        word = entry
        if enlarge_in == 0:
            enlarge_in = 1 << width
            width += 1
