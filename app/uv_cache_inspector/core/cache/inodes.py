"""Count each hard-linked inode once, without a Python object per inode where possible.

`uv cache size` (diskus, docs/uv-cache-format.md §6) counts allocated blocks with every inode once.
The walker hands over the inode numbers of files with more than one link as flat arrays; here they
go into a bitmap per device (inode numbers on ext4 are dense and bounded by the inode count), or a
set when the numbers are too large for a bitmap (XFS 64-bit inodes).
"""

from __future__ import annotations

from array import array

BITMAP_LIMIT_BITS = 1 << 29  # 64 MiB of bitmap at most per device


class InodeSet:
    def __init__(self, bitmap_limit_bits: int = BITMAP_LIMIT_BITS) -> None:
        self._limit = bitmap_limit_bits
        self._bitmaps: dict[int, bytearray] = {}
        self._sets: dict[int, set[int]] = {}
        self.count = 0

    def add_many(self, dev: int, inos: bytes, sizes: bytes) -> int:
        """Add (inode, allocated bytes) pairs; return the bytes of those already seen."""
        if not inos:
            return 0
        ino_arr = array("Q")
        ino_arr.frombytes(inos)
        size_arr = array("Q")
        size_arr.frombytes(sizes)
        top = max(ino_arr)
        bm = self._bitmaps.get(dev)
        need = (min(top, self._limit - 1) >> 3) + 1
        if bm is None:
            bm = self._bitmaps[dev] = bytearray(need)
        elif len(bm) < need:
            bm.extend(bytes(need - len(bm)))
        overflow = self._sets.setdefault(dev, set()) if top >= self._limit else None
        limit = self._limit
        dup = 0
        added = 0
        for ino, size in zip(ino_arr, size_arr, strict=True):
            if ino < limit:
                i = ino >> 3
                bit = 1 << (ino & 7)
                if bm[i] & bit:
                    dup += size
                else:
                    bm[i] |= bit
                    added += 1
            else:
                assert overflow is not None
                if ino in overflow:
                    dup += size
                else:
                    overflow.add(ino)
                    added += 1
        self.count += added
        return dup

    def add_one(self, dev: int, ino: int, size: int) -> bool:
        """True if newly added (count its bytes), False if already seen."""
        before = self.count
        self.add_many(dev, array("Q", [ino]).tobytes(), array("Q", [size]).tobytes())
        return self.count > before
