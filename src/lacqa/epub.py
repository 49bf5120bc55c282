"""EPUB (2 and 3) to text: the XHTML chapters of the spine, in reading order, through the HTML reader.

Read with zipfile and the package document by hand (no EPUB library): META-INF/container.xml names the
package (.opf), whose manifest and spine give the chapters in order and whose table of contents (the EPUB 3
navigation document, else the EPUB 2 NCX) names them. A chapter's section title is its entry in the table
of contents, else its first heading, else the title of the chapter before it (a chapter split over several
files goes on under its title). An entry that points into a file (``book.xhtml#ch3``) starts a section
where its element starts, so a book of few files with many chapters still has them all. The package's
dc:title is the document's title, dc:creator its author.
"""

from __future__ import annotations

import posixpath
import zipfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .archive import open_zip, read_member

_HTML_TYPES = {"application/xhtml+xml", "text/html", "application/html+xml"}
_HTML_SUFFIXES = (".xhtml", ".html", ".htm", ".xml")


Toc = dict[str, list[tuple[str, str]]]  # file path -> its entries in the table of contents: (fragment, label)


@dataclass(frozen=True)
class Book:
    chapters: list[str]  #: text of each chapter (or part of one, between entries of the contents), in order
    sections: list[str | None]  #: section title of each chapter
    title: str | None
    author: str | None


def read_epub(data: bytes) -> Book:
    """The chapters of an .epub file. ValueError in words when it is not a readable EPUB."""
    from .html import chapter_to_text
    from .load import decode_text, one_line

    archive = open_zip(data, "an EPUB file")
    names = _Names(archive)
    opf_path = _package_path(archive, names)
    opf = _xml(read_member(archive, opf_path, "EPUB"), f"its package document {opf_path}")
    base = posixpath.dirname(opf_path)
    manifest: dict[str, tuple[str, str, str]] = {}  # id -> (path, media type, properties)
    for item in _all(opf, "item"):
        if item.get("id") and item.get("href"):
            manifest[item.get("id")] = (_resolve(base, item.get("href")), (item.get("media-type") or "").lower(),
                                        item.get("properties") or "")
    spine = next(_all(opf, "spine"), None)
    order = [ref.get("idref") for ref in _all(spine, "itemref")] if spine is not None else []
    # the navigation document is left out even when the spine lists it: it is the table of contents
    chapters = [manifest[i][0] for i in order
                if i in manifest and _is_html(*manifest[i][:2]) and "nav" not in manifest[i][2].split()]
    if not chapters:
        raise ValueError("not an EPUB file: its spine lists no XHTML chapters")
    encrypted = _encrypted(archive, names)
    if any(path in encrypted for path in chapters):
        raise ValueError("EPUB is DRM-protected (its chapters are encrypted)")
    toc = _toc(archive, names, manifest, spine)

    texts: list[str] = []
    sections: list[str | None] = []
    section: str | None = None
    found = 0
    for path in chapters:
        member = names.get(path)
        if member is None:
            continue  # listed but not in the archive: sloppy packaging, not damage
        found += 1
        raw = read_member(archive, member, "EPUB")
        entries = toc.get(path, [])
        labels: dict[str, str] = {}
        for fragment, label in entries:
            if fragment:
                labels.setdefault(fragment, label)
        try:
            pieces, heading = chapter_to_text(decode_text(raw), labels)
        except ValueError as exc:
            raise ValueError(f"damaged EPUB: chapter {path}: {exc}") from exc
        whole = next((label for fragment, label in entries if not fragment), None)
        if whole is None and entries and len(pieces) == 1:
            whole = entries[0][1]  # its entries point at fragments it does not have: the first names it
        for anchor, text in pieces:
            if anchor is None:
                section = whole or (heading if len(pieces) == 1 else None) or section
            else:
                section = labels[anchor]
            if text.strip():
                texts.append(text)
                sections.append(one_line(section, 200) if section else None)
    if not found:
        raise ValueError("damaged EPUB: none of the chapters its spine lists is in the archive")
    if not texts:
        raise ValueError("EPUB has no text (only images?)")
    title = _text(next(_all(opf, "title"), None))
    author = _text(next(_all(opf, "creator"), None))
    return Book(texts, sections, one_line(title, 200) if title else None, one_line(author, 120) if author else None)


class _Names:
    """Archive member names looked up exactly, else ignoring case (packagers disagree on case)."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.exact = set(archive.namelist())
        self.folded: dict[str, str] = {}
        for name in sorted(self.exact):
            self.folded.setdefault(name.lower(), name)

    def get(self, path: str) -> str | None:
        return path if path in self.exact else self.folded.get(path.lower())


def _package_path(archive: zipfile.ZipFile, names: _Names) -> str:
    """The package document named by META-INF/container.xml, else the first .opf in the archive."""
    container = names.get("META-INF/container.xml")
    if container is not None:
        try:
            root = _xml(read_member(archive, container, "EPUB"), "META-INF/container.xml")
            for rootfile in _all(root, "rootfile"):
                path = names.get(_resolve("", rootfile.get("full-path") or ""))
                if path and (rootfile.get("media-type") or "application/oebps-package+xml").endswith("package+xml"):
                    return path
        except ValueError:
            pass  # a damaged container: look for the package itself
    opfs = sorted(n for n in names.exact if n.lower().endswith(".opf"))
    if not opfs:
        raise ValueError("not an EPUB file: no package document (.opf) in the archive")
    return opfs[0]


def _toc(archive: zipfile.ZipFile, names: _Names, manifest: dict[str, tuple[str, str, str]], spine: Any) -> Toc:
    """The table of contents (navigation document, else NCX), by file. A damaged or missing table of
    contents costs the titles only."""
    out: Toc = {}
    nav = next((path for path, _, props in manifest.values() if "nav" in props.split()), None)
    ncx_id = spine.get("toc") if spine is not None else None
    ncx = manifest[ncx_id][0] if ncx_id in manifest else next(
        (path for path, kind, _ in manifest.values() if kind == "application/x-dtbncx+xml"), None)
    try:
        if nav and names.get(nav):
            out = _nav_titles(read_member(archive, names.get(nav) or nav, "EPUB"), posixpath.dirname(nav))
        if not out and ncx and names.get(ncx):
            out = _ncx_titles(read_member(archive, names.get(ncx) or ncx, "EPUB"), posixpath.dirname(ncx))
    except ValueError:
        return out
    return out


def _nav_titles(data: bytes, base: str) -> Toc:
    from .html import parse_xhtml
    from .load import decode_text

    tree = parse_xhtml(decode_text(data))
    navs = tree.css("nav")
    toc = next((n for n in navs if "toc" in (n.attributes.get("epub:type") or "").split()), navs[0] if navs else None)
    out: Toc = {}
    for a in toc.css("a") if toc is not None else []:
        href = a.attributes.get("href") or ""
        label = " ".join(a.text(separator=" ").split())
        if href and label and not href.startswith(("http:", "https:", "mailto:")):
            _add(out, base, href, label)
    return out


def _ncx_titles(data: bytes, base: str) -> Toc:
    root = _xml(data, "its NCX table of contents")
    out: Toc = {}
    for point in _all(root, "navPoint"):
        label = _text(next(_all(next(_all(point, "navLabel"), None), "text"), None))
        content = next(_all(point, "content"), None)
        src = content.get("src") if content is not None else None
        if src and label:
            _add(out, base, src, label)
    return out


def _add(toc: Toc, base: str, href: str, label: str) -> None:
    fragment = unquote(href.split("#", 1)[1]) if "#" in href else ""
    toc.setdefault(_resolve(base, href), []).append((fragment, label))


def _encrypted(archive: zipfile.ZipFile, names: _Names) -> set[str]:
    """Paths that META-INF/encryption.xml lists as encrypted (fonts are often only obfuscated: harmless)."""
    member = names.get("META-INF/encryption.xml")
    if member is None:
        return set()
    try:
        root = _xml(read_member(archive, member, "EPUB"), "META-INF/encryption.xml")
    except ValueError:
        return set()
    return {_resolve("", ref.get("URI") or "") for ref in _all(root, "CipherReference")}


def _resolve(base: str, href: str) -> str:
    """An href of a file in folder ``base`` as an archive path: fragment dropped, %-escapes decoded."""
    path = unquote(href.split("#", 1)[0]).lstrip("/")
    return posixpath.normpath(posixpath.join(base, path)) if path else ""


def _is_html(path: str, media_type: str) -> bool:
    return media_type in _HTML_TYPES or (not media_type and path.lower().endswith(_HTML_SUFFIXES))


def _xml(data: bytes, what: str) -> Any:
    """Parse XML without resolving entities or fetching anything; ValueError naming ``what`` if it fails."""
    from lxml import etree

    from .load import describe

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             recover=True)
    try:
        root = etree.fromstring(data, parser)
    except Exception as exc:
        raise ValueError(f"damaged EPUB: {what} does not parse: {describe(exc)}") from exc
    if root is None:
        raise ValueError(f"damaged EPUB: {what} does not parse")
    return root


def _all(el: Any, local: str) -> Any:
    """Descendants of ``el`` whose local name is ``local``, in any namespace or none (packagers vary)."""
    if el is None:
        return iter(())
    return (node for node in el.iter() if isinstance(node.tag, str) and node.tag.rsplit("}", 1)[-1] == local)


def _text(el: Any) -> str | None:
    if el is None:
        return None
    text = " ".join("".join(el.itertext()).split())
    return text or None
