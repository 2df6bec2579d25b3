#!/usr/bin/env python3
"""Writes data/fsdd/: the subset of the Free Spoken Digit Dataset that dae embeds as the audio
task's default data, as one uncompressed, reproducible tar of byte-identical WAV files.

Usage: python3 scripts/fsdd_subset.py ../shared/data/fsdd data/fsdd

Whole speakers are split (dae's default rule, docs/audio.md: speakers in name order, the last is
the test speaker, the one before it validation): george, jackson, lucas and nicolas train,
theo validates, yweweler tests. Of each speaker it keeps the first `PER_DIGIT[split]` recordings
of every digit (indices 0..k-1), so the subset is small enough to ship (about 3 MB).
"""
import io
import os
import sys
import tarfile

PER_DIGIT = {"train": 8, "val": 5, "test": 10}
SPLIT = {"theo": "val", "yweweler": "test"}


def main(source: str, out: str) -> None:
    speakers = sorted({name.split("_")[1] for name in os.listdir(os.path.join(source, "recordings"))})
    files = []
    for speaker in speakers:
        keep = PER_DIGIT[SPLIT.get(speaker, "train")]
        for digit in range(10):
            for index in range(keep):
                files.append(f"{digit}_{speaker}_{index}.wav")
    os.makedirs(out, exist_ok=True)
    buffer = io.BytesIO()
    # ustar, sorted names, zero times and ids: the same bytes on every run.
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(files):
            with open(os.path.join(source, "recordings", name), "rb") as f:
                data = f.read()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    with open(os.path.join(out, "fsdd-subset.tar"), "wb") as f:
        f.write(buffer.getvalue())
    print(f"{len(files)} files, {len(buffer.getvalue())} bytes")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
