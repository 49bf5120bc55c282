"""ZIP containers (Word, EPUB) opened with limits: a damaged, encrypted or hostile archive is refused in words.

A member's declared size bounds what ``zipfile`` will inflate, so capping the declared sizes is enough to
refuse a ZIP bomb before anything is decompressed.
"""

from __future__ import annotations

import io
import zipfile

MAX_MEMBERS = 20_000
MAX_EXPANDED = 256_000_000  #: bytes all members may expand to together
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File Binary: .doc, and Office files with a password


def open_zip(data: bytes, kind: str) -> zipfile.ZipFile:
    """``data`` as a ZIP archive, or ValueError saying why not ('not a Word file: ...'). ``kind`` names the
    format for the reason: 'a Word file', 'an EPUB file'."""
    if data.startswith(_OLE):
        raise ValueError(f"not {kind}: an old binary Office file or a password-protected one (not a ZIP archive)")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except Exception as exc:  # BadZipFile, and OSError, ValueError, struct.error ... on a mangled directory
        what = "not a ZIP archive, or a truncated one" if isinstance(exc, zipfile.BadZipFile) else str(exc)
        raise ValueError(f"not {kind}: {what}") from exc
    if len(members) > MAX_MEMBERS:
        raise ValueError(f"not {kind}: {len(members)} files in the archive (limit {MAX_MEMBERS})")
    expanded = sum(m.file_size for m in members)
    if expanded > MAX_EXPANDED:
        raise ValueError(
            f"not {kind}: it would expand to {expanded / 1e6:.0f} MB (limit {MAX_EXPANDED / 1e6:.0f} MB)"
        )
    return archive


def read_member(archive: zipfile.ZipFile, name: str, kind: str) -> bytes:
    """The bytes of one member; ValueError in words when it is encrypted or damaged."""
    from .load import describe

    info = archive.getinfo(name)
    if info.flag_bits & 0x1:
        raise ValueError(f"{kind} is encrypted ({name})")
    try:
        return archive.read(info)
    except Exception as exc:  # BadZipFile (bad CRC), zlib.error, ValueError (negative seek), NotImplementedError
        raise ValueError(f"damaged {kind}: {name}: {describe(exc)}") from exc
