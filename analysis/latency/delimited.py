"""Text files as spreadsheets write them → cells with their line numbers, or one clear error.

Decoding: UTF-8 (with or without byte-order mark) and UTF-16 with a byte-order mark (Excel's
"Unicode text"). Delimiter: comma, semicolon or tab, recognised from the header line (an Excel
``sep=;`` first line is honoured). Trailing empty columns and blank rows that spreadsheets add
are dropped. Nothing here knows the latency format: the caller names the columns it needs.
Every error is a :class:`~analysis.errors.DataFormatError` naming the file and line; the
problems of single rows are collected (:attr:`Table.problems`) so that
:func:`raise_problems` reports all of a file's at once, the first one first. A spreadsheet
saved in its own format (``.xlsx``, ``.xls``, ``.numbers``, ``.ods``) or UTF-16 without
byte-order mark is named as such, with how to save it as CSV.
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from analysis.errors import DataFormatError

DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
#: At most this many lines of a list (a file's problems, the devices or warnings of a
#: summary) are shown, then a count of the others.
MAX_LISTED = 20
_SEP_HINT = re.compile(r"\s*sep=(.)\s*")
#: A number written with a decimal comma (``0,79``), allowed in ;- and tab-separated files.
DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+(?:[eE][+-]?\d+)?$")


def read_text(path: Path) -> str:
    """Decode the file's bytes: UTF-8 (BOM optional) or UTF-16 with BOM; else a clear error."""
    if not path.exists():
        raise DataFormatError(f"{path}: no such file")
    if path.is_dir():
        raise DataFormatError(f"{path}: is a directory; expected a CSV file "
                              f"(pass the files in it, e.g. {path}/*.csv)")
    data = path.read_bytes()
    _refuse_other_formats(path, data)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DataFormatError(f"{path}: starts with a UTF-16 byte-order mark but is not "
                                  f"valid UTF-16 ({exc.reason}); save it as UTF-8 CSV") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise DataFormatError(
            f"{path}, line {line}, column {col} (byte {exc.start + 1}): byte "
            f"0x{data[exc.start]:02x} is not valid UTF-8; expected a UTF-8 text file (in a "
            f"spreadsheet: save as 'CSV UTF-8')") from None


#: How to save a CSV from each spreadsheet program.
_SAVE_AS = {"Excel": "File > Save As > 'CSV UTF-8 (Comma delimited) (*.csv)'",
            "Numbers": "File > Export To > CSV… (Text Encoding: Unicode (UTF-8))",
            "LibreOffice": "File > Save As > 'Text CSV (.csv)', character set Unicode (UTF-8)"}


def _spreadsheet_kind(path: Path, data: bytes) -> tuple[str, str] | None:
    """``(what the file is, the program that saves it as CSV)`` for a spreadsheet's own
    format, ``None`` otherwise."""
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: Excel 97-2003
        return "an Excel 97-2003 workbook (.xls)", "Excel"
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()
            mime = z.read("mimetype").decode("ascii", "replace") if "mimetype" in names else ""
    except (zipfile.BadZipFile, OSError, KeyError):
        names, mime = [], ""
    if any(n.startswith("xl/") for n in names):
        return "an Excel workbook (.xlsx)", "Excel"
    if any(n.startswith("Index/") or n == "Index.zip" for n in names):
        return "an Apple Numbers document (.numbers)", "Numbers"
    if "opendocument.spreadsheet" in mime:
        return "an OpenDocument spreadsheet (.ods)", "LibreOffice"
    return "a ZIP archive (as a spreadsheet program saves its workbooks)", "Excel"


def _utf16_without_bom(data: bytes) -> str | None:
    """``"UTF-16 LE"``/``"UTF-16 BE"`` when every other byte of the start is zero (UTF-16
    text without byte-order mark), else ``None``."""
    head = data[:400]
    if len(head) < 4 or b"\x00" not in head:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) == 0:
        return "UTF-16 LE"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) == 0:
        return "UTF-16 BE"
    return None


def _refuse_other_formats(path: Path, data: bytes) -> None:
    """Name a spreadsheet's own format or UTF-16 without byte-order mark, and how to save
    the file as CSV."""
    kind = _spreadsheet_kind(path, data)
    if kind is not None:
        what, program = kind
        raise DataFormatError(
            f"{path}: is {what}, not a CSV text file (renaming a workbook to .csv does not "
            f"convert it); open it in {program} and save it as CSV: {_SAVE_AS[program]}")
    has_bom = data.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf"))
    encoding = None if has_bom else _utf16_without_bom(data)
    if encoding is not None:
        raise DataFormatError(
            f"{path}: is {encoding} text without a byte-order mark (every other byte is "
            f"zero), which cannot be told apart from other encodings safely; save it as "
            f"'CSV UTF-8' (or as UTF-16 with a byte-order mark, Excel's 'Unicode text')")


@dataclass
class Table:
    """The raw cells of one delimited file, with the line number of every record."""

    path: Path
    header: list[str]  # normalised (stripped, lower-case) column names
    rows: list[tuple[int, list[str]]]  # (line number, cells)
    delimiter: str
    header_line: int = 1
    #: ``(line, message)`` of every row that could not be read (see :func:`raise_problems`).
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def shown(self) -> str:
        return str(self.path)

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))

    def col(self, name: str) -> int:
        """1-based column number of ``name`` (0 when the file has no such column)."""
        return self.header.index(name) + 1 if name in self.header else 0

    @functools.cached_property
    def decimal_comma(self) -> bool:
        """Whether the file writes decimals with a comma (``0,79``; ;- and tab-separated
        files only): then a ``.`` in a number may be a thousands separator."""
        return self.delimiter != "," and any(
            DECIMAL_COMMA.match(c) for _, cells in self.rows for c in cells)


def _is_header_again(cells: list[str], header: list[str]) -> bool:
    """A data row that repeats the column names (files joined with ``cat``, say)."""
    named = [c.lower() for c in cells if c]
    return len(named) >= min(2, len(header)) and len(set(named)) == len(named) \
        and set(named) <= set(header)


def _header_line(path: Path, lines: list[str], required: Sequence[str]) -> tuple[int, str | None]:
    """(index of the header line, delimiter forced by an Excel ``sep=`` line or None)."""
    first, forced = 0, None
    while first < len(lines) and not lines[first].strip():
        first += 1
    if first < len(lines) and _SEP_HINT.fullmatch(lines[first]):
        forced = _SEP_HINT.fullmatch(lines[first]).group(1)  # Excel's hint line
        first += 1
        while first < len(lines) and not lines[first].strip():
            first += 1
    if first >= len(lines):
        raise DataFormatError(f"{path}: the file is empty; expected a header line with at "
                              f"least the columns {','.join(required)} and one row "
                              f"per measurement")
    return first, forced


def split_table(path: Path, text: str, *, required: Sequence[str],
                recognise: Sequence[str] = ()) -> Table:
    """Parse ``text`` as a delimited table, recognising the delimiter from the header line.

    ``required`` are the columns a file of the expected kind has (named in the message for an
    empty file); they and ``recognise`` (columns of other accepted kinds) pick the delimiter
    that splits the header into known names.
    """
    lines = text.splitlines()
    first, forced = _header_line(path, lines, required)
    header_text = lines[first]

    def fields(delim: str) -> list[str]:
        return [c.strip().lower() for c in next(csv.reader([header_text], delimiter=delim))]

    if forced is not None:
        delimiter = forced
    else:
        candidates = [",", ";", "\t"]
        scored = []
        for d in candidates:
            cols = fields(d)
            known = sum(c in cols for c in (*required, *recognise))
            scored.append((known, len(cols), d))
        delimiter = max(scored, key=lambda s: (s[0], s[1], -candidates.index(s[2])))[2]
    header = fields(delimiter)
    while len(header) > 1 and not header[-1]:
        header.pop()  # trailing empty columns a spreadsheet adds
    seen: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if not name:
            raise DataFormatError(f"{path}, line {first + 1}, column {i}: empty column name; "
                                  f"every column needs a name in the header line")
        if name in seen:
            raise DataFormatError(f"{path}, line {first + 1}, column {i} ('{name}'): column "
                                  f"name repeated (also column {seen[name]})")
        seen[name] = i
    table = Table(path, header, [], delimiter, first + 1)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    for cells in reader:
        line = reader.line_num
        if line <= first + 1:
            continue  # header (and the lines before it)
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue  # blank line, or a spreadsheet's row of empty cells
        if _is_header_again(cells, header):
            table.problems.append((line, (
                f"{path}, line {line}: repeated header row (the column names of line "
                f"{first + 1} again, as when files are joined); remove the line")))
            continue
        if len(cells) > len(header) and not any(cells[len(header):]):
            cells = cells[:len(header)]  # trailing empty cells a spreadsheet adds
        if len(cells) != len(header):
            name = table.delimiter_name
            table.problems.append((line, (
                f"{path}, line {line}, column {min(len(cells), len(header)) + 1}: found "
                f"{len(cells)} {name}-separated field{'' if len(cells) == 1 else 's'}, the header "
                f"has {len(header)}; "
                f"expected one value per column (quote values that contain a {name})")))
            continue
        table.rows.append((line, cells))
    if not table.rows:
        raise_problems(table)
        raise DataFormatError(f"{path}: no data rows after the header (line {first + 1}); "
                              f"expected one row per measurement")
    return table


def raise_problems(table: Table, limit: int = MAX_LISTED) -> None:
    """Raise one :class:`DataFormatError` for every problem of ``table`` (none: return).

    The first line is the first problem's own message (file, line, column, what was
    expected), plus the count of the others; they follow one per line, without the file name,
    at most ``limit`` lines in all, then ``… and N more``."""
    if not table.problems:
        return
    problems = [m for _, m in sorted(table.problems, key=lambda p: p[0])]
    first, others = problems[0], problems[1:]
    if not others:
        raise DataFormatError(first)
    prefix = f"{table.shown}, "
    shown = others[:limit - 2] if len(others) > limit - 1 else others
    lines = [f"{first}; and {len(others)} more problem{'s' if len(others) > 1 else ''} in "
             f"this file:"]
    lines += [f"  {m[len(prefix):] if m.startswith(prefix) else m}" for m in shown]
    if len(shown) < len(others):
        lines.append(f"  … and {len(others) - len(shown)} more")
    raise DataFormatError("\n".join(lines))


def check_columns(table: Table, required: Sequence[str], what: str) -> None:
    """Raise a one-line error naming the missing columns, close names and the columns found."""
    missing = [c for c in required if c not in table.header]
    if not missing:
        return
    found = table.delimiter.join(table.header)
    hints = []
    for m in missing:
        close = difflib.get_close_matches(m, table.header, n=1, cutoff=0.6)
        if close:
            hints.append(f"'{close[0]}' should be named '{m}'")
    hint = f" ({'; '.join(hints)})" if hints else ""
    if len(table.header) == 1:
        hint += (" — the header has a single column: is the file separated by a character "
                 "other than comma, semicolon or tab?")
    raise DataFormatError(
        f"{table.shown}, line {table.header_line}: missing required column"
        f"{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)} "
        f"({what}); found the {table.delimiter_name}-separated columns {found!r}{hint}")
