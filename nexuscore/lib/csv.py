"""CSV that is safe to open in a spreadsheet: every CSV the product writes goes through here.

A visitor types `=HYPERLINK("http://x", "Click")` into an organisation's website form; the
team exports its leads and opens the file in Excel, which runs the cell as a formula. OWASP's
advice on CSV injection (https://owasp.org/www-community/attacks/CSV_Injection, as it reads
since August 2025) is that no cell may begin with `=`, `+`, `-`, `@`, tab (0x09), carriage
return (0x0D) or line feed (0x0A); we put a single quote in front of such a cell (one of the
sanitisations it offers), which spreadsheets take as "this is text" and do not show. The csv
module's quoting takes care of the rest of that advice: a delimiter or quote inside a value
cannot start a new cell.

Only text is neutralised. Numbers we write ourselves (int, Decimal, float: amounts such as
-12.50, counts, row numbers) stay numbers, so a credit note's negative total still adds up in
the GST report. A writer that wants a value read as a number passes it as a number, not as text.
Text that looks like a number is text here: a phone number `+6591234567` comes out as
`'+6591234567`, which a spreadsheet shows as +6591234567 rather than as the number 6591234567.
"""

import csv

# The first characters that make a spreadsheet read a cell as a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value):
    """`value` as a spreadsheet may open it: text that would start a formula gets a `'` in
    front; anything else, numbers included, is returned unchanged.

    OWASP names the first character only. We also look past leading spaces (` =1+1`): some
    spreadsheets trim them when they open a file, and a quote in front of such a cell costs
    nothing.
    """
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS) or value.lstrip().startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore(value: str) -> str:
    """The text `neutralise` was given: takes off the `'` it put in front, so a file we
    exported can be imported again as it was."""
    if value.startswith("'") and neutralise(value[1:]) != value[1:]:
        return value[1:]
    return value


class _SafeWriter:
    """csv.writer's writerow() and writerows(), with every cell neutralised."""

    def __init__(self, file, **options):
        self._writer = csv.writer(file, **options)

    def writerow(self, row):
        # Returns what the file's write() returned, so a streamed response can yield it.
        return self._writer.writerow([neutralise(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def writer(file, **options) -> _SafeWriter:
    """Like csv.writer(file, **options), but safe to open in a spreadsheet."""
    return _SafeWriter(file, **options)
