"""Reading CSV and XLSX files: encodings, delimiters, quoting, headers, formulas, broken files."""

import datetime
import io
import zipfile

import pytest
from openpyxl import Workbook

from wagtail_newsletter.audience.import_readers import MAX_LINE_CHARS, Formula, ImportFileError, open_table


def table_of(data):
    return open_table(io.BytesIO(data))


def rows_of(data):
    return list(table_of(data).rows())


def xlsx_bytes(rows):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_utf8_with_bom_header_is_clean():
    table = table_of("\ufeffEmail,Prénom\na@example.org,Zoé\n".encode())
    assert table.headers == ["Email", "Prénom"]
    assert list(table.rows()) == [(2, ["a@example.org", "Zoé"])]


def test_utf8_without_bom():
    assert rows_of("email,name\na@example.org,Zoé\n".encode()) == [(2, ["a@example.org", "Zoé"])]


def test_latin1_file_is_decoded():
    table = table_of("email;prénom\na@example.org;Hélène\n".encode("latin-1"))
    assert table.headers == ["email", "prénom"]
    assert list(table.rows()) == [(2, ["a@example.org", "Hélène"])]


def test_latin1_byte_far_into_the_file_is_still_detected():
    data = ("email,name\n" + "x@example.org,plain\n" * 100_000 + "y@example.org,Frédéric\n").encode("cp1252")
    table = table_of(data)
    assert table.encoding == "cp1252"
    assert list(table.rows())[-1][1] == ["y@example.org", "Frédéric"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_sniffed(delimiter):
    data = delimiter.join(["email", "first_name", "last_name"]) + "\na@example.org" + delimiter + "Ann" + delimiter
    assert rows_of((data + "Lee\n").encode()) == [(2, ["a@example.org", "Ann", "Lee"])]


def test_quoted_newlines_stay_in_their_cell_and_lines_are_counted():
    data = b'email,notes\na@example.org,"two\nlines"\nb@example.org,x\n'
    assert rows_of(data) == [(2, ["a@example.org", "two\nlines"]), (4, ["b@example.org", "x"])]


def test_header_is_trimmed():
    assert table_of(b"  EMAIL , First Name \na@example.org,A\n").headers == ["EMAIL", "First Name"]


def test_blank_rows_are_skipped():
    assert rows_of(b"email\n\na@example.org\n,\n") == [(3, ["a@example.org"])]


def test_crlf_line_endings():
    assert rows_of(b"email,name\r\na@example.org,A\r\n") == [(2, ["a@example.org", "A"])]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        (bytes(range(256)) * 4, "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
    ],
)
def test_unreadable_file_gives_one_clear_error(data, message):
    with pytest.raises(ImportFileError, match=message):
        table_of(data)


def test_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hello")
    with pytest.raises(ImportFileError, match="not an Excel workbook"):
        table_of(out.getvalue())


def test_huge_line_is_refused_by_check():
    table = table_of(b"email\n" + b"a" * (MAX_LINE_CHARS + 10) + b"\n")
    with pytest.raises(ImportFileError, match="Line 2 is longer"):
        table.check()


def test_malformed_quoting_is_refused_by_check():
    table = table_of(b'email,name\na@example.org,"unterminated\n')
    with pytest.raises(ImportFileError, match="malformed"):
        table.check()


def test_xlsx_typed_cells_are_kept_typed():
    data = xlsx_bytes([["Email", "Born", "Age", "VIP"], ["a@example.org", datetime.date(1990, 5, 17), 42, True]])
    table = table_of(data)
    assert table.headers == ["Email", "Born", "Age", "VIP"]
    [(line, values)] = list(table.rows())
    assert line == 2
    assert values[0] == "a@example.org"
    assert values[1].date() == datetime.date(1990, 5, 17)
    assert values[2:] == [42, True]


def test_xlsx_formula_cells_are_marked_as_formulas():
    data = xlsx_bytes([["email", "name"], ["a@example.org", '=HYPERLINK("http://evil")']])
    [(_line, values)] = list(table_of(data).rows())
    assert isinstance(values[1], Formula)


def test_xlsx_without_header_is_refused():
    with pytest.raises(ImportFileError, match="empty"):
        table_of(xlsx_bytes([]))
