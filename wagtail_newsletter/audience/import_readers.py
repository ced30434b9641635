"""Read subscriber files (CSV or XLSX) as a stream of rows.

``open_table(fileobj)`` looks at the bytes (not the file name), picks a reader and returns a table
with ``headers`` and ``rows()``: an iterator of ``(line, values)`` that never holds the whole file
in memory. A file that cannot be read raises ``ImportFileError`` with one message for people.
"""

import codecs
import csv
import datetime
import io
import zipfile
from decimal import Decimal

from django.utils.translation import gettext as _

# Longest physical line accepted in a CSV file: far above any real row, far below a memory problem.
MAX_LINE_CHARS = 100_000
_SCAN_BLOCK = 1 << 20
_DELIMITERS = (",", ";", "\t")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls
_TEXT_CONTROLS = frozenset(chr(c) for c in range(32)) - {"\t", "\n", "\r", "\f"}


class ImportFileError(Exception):
    """The file cannot be imported at all; ``str(exc)`` is a message for people."""


class Formula(str):
    """The text of a spreadsheet formula, kept apart from values so the row can be rejected."""


def open_table(fileobj):
    """Return a CsvTable or XlsxTable for a binary, seekable ``fileobj`` (raises ImportFileError)."""
    fileobj.seek(0)
    head = fileobj.read(8)
    fileobj.seek(0)
    if not head:
        raise ImportFileError(_("The file is empty."))
    if head.startswith(_ZIP_MAGIC):
        return XlsxTable(fileobj)
    if head.startswith(_OLE2_MAGIC):
        raise ImportFileError(_("Old Excel files (.xls) are not supported: save the sheet as .xlsx or CSV."))
    return CsvTable(fileobj)


def _check_headers(headers):
    headers = [header.strip() for header in headers]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise ImportFileError(_("The first row must name the columns (for example: email, first_name)."))
    return headers


class CsvTable:
    """A delimited text file: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252/Latin-1."""

    kind = "csv"

    def __init__(self, fileobj):
        self.file = fileobj
        self.total = fileobj.seek(0, io.SEEK_END)
        fileobj.seek(0)
        self.encoding = self._detect_encoding()
        text = self._text()
        first = text.readline(MAX_LINE_CHARS + 1)
        text.detach()  # leave the caller's file open
        if len(first) > MAX_LINE_CHARS:
            raise ImportFileError(_("Line 1 is too long: this does not look like a CSV file."))
        if any(char in _TEXT_CONTROLS for char in first):
            raise ImportFileError(_("This is not a CSV file (it contains binary data)."))
        self.delimiter = max(_DELIMITERS, key=first.count) if any(d in first for d in _DELIMITERS) else ","
        records = self._records()
        try:
            _line, headers = next(records, (0, []))
        finally:
            records.close()
        if not any(value.strip() for value in headers):
            raise ImportFileError(_("The file is empty."))
        self.headers = _check_headers(headers)

    def _detect_encoding(self):
        """Try UTF-8 on every byte first (one streaming pass); fall back to cp1252, then Latin-1."""
        head = self.file.read(4)
        self.file.seek(0)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        candidates = ["utf-8-sig", "cp1252"]
        for encoding in candidates:
            decoder = codecs.getincrementaldecoder(encoding)()
            self.file.seek(0)
            try:
                while block := self.file.read(_SCAN_BLOCK):
                    if b"\x00" in block:
                        raise ImportFileError(_("This is not a CSV file (it contains binary data)."))
                    decoder.decode(block)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                continue
            finally:
                self.file.seek(0)
            return encoding
        return "latin-1"  # decodes any byte

    def _text(self):
        self.file.seek(0)
        return io.TextIOWrapper(self.file, encoding=self.encoding, newline="")

    def _lines(self, text):
        # readline() with a limit: a file without line breaks never becomes one giant string.
        number = 0
        while line := text.readline(MAX_LINE_CHARS + 1):
            number += 1
            if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
                raise ImportFileError(
                    _("Line %(line)d is longer than %(max)d characters: the file is not a valid CSV file.")
                    % {"line": number, "max": MAX_LINE_CHARS}
                )
            yield line

    def _records(self):
        """Yield ``(line, values)`` for every record, the header included; ``line`` is where it starts."""
        text = self._text()
        reader = csv.reader(self._lines(text), delimiter=self.delimiter, strict=True)
        start = 1
        try:
            for values in reader:
                yield start, values
                start = reader.line_num + 1
        except csv.Error as exc:
            raise ImportFileError(
                _("The CSV file is malformed near line %(line)d (%(error)s).") % {"line": start, "error": exc}
            ) from exc
        except UnicodeDecodeError as exc:
            raise ImportFileError(_("The file's text encoding could not be read.")) from exc
        finally:
            text.detach()  # leave the caller's file open

    def rows(self):
        """Yield ``(line, values)`` for each data row; blank rows are skipped."""
        records = self._records()
        try:
            next(records, None)
            for line, values in records:
                if any(values):
                    yield line, values
        finally:
            records.close()

    def check(self):
        """Read the whole file once, so a broken file fails before anything is written; return the row count."""
        return sum(1 for _row in self.rows())

    def progress(self):
        """(bytes read, total bytes): approximate, good for a progress bar."""
        try:
            return min(self.file.tell(), self.total), self.total
        except (OSError, ValueError):
            return self.total, self.total


def _cell_value(cell):
    if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")):
        return Formula(cell.value)
    value = cell.value
    if value is None:
        return ""
    return value


class XlsxTable:
    """The first sheet of an Excel workbook, streamed with openpyxl's read-only mode."""

    kind = "xlsx"

    def __init__(self, fileobj):
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        self.file = fileobj
        self.done = 0
        try:
            # data_only=False: formulas are seen as formulas (and rejected), not as their cached results.
            self.workbook = load_workbook(fileobj, read_only=True, data_only=False)
            self.sheet = self.workbook.worksheets[0]
            first = next(self.sheet.iter_rows(min_row=1, max_row=1), ())
        except (zipfile.BadZipFile, InvalidFileException, KeyError, IndexError, OSError, ValueError) as exc:
            raise ImportFileError(_("This ZIP file is not an Excel workbook (.xlsx) that can be read.")) from exc
        headers = ["" if cell.value is None else str(cell.value) for cell in first]
        if not any(header.strip() for header in headers):
            raise ImportFileError(_("The file is empty."))
        self.headers = _check_headers(headers)
        self.total = max((self.sheet.max_row or 1) - 1, 1)

    def rows(self):
        try:
            for line, cells in enumerate(self.sheet.iter_rows(min_row=2), start=2):
                self.done = line - 1
                values = [_cell_value(cell) for cell in cells]
                if any(value != "" for value in values):
                    yield line, values
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise ImportFileError(_("The Excel workbook is damaged and cannot be read.")) from exc

    def check(self):
        # Opening read the workbook's structure; the cells themselves are checked row by row.
        return self.total

    def progress(self):
        """(rows read, rows in the sheet)."""
        return min(self.done, self.total), self.total


def cell_text(value):
    """A spreadsheet value as the text a person typed (12.0 -> "12", dates in ISO format)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime) and not (value.hour or value.minute or value.second):
        return value.date().isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
