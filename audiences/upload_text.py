"""The check an uploaded CSV passes before anything of it is stored: that its bytes are UTF-8.

A file saved in another encoding (Excel's "CSV" on Windows is cp1252, Korean spreadsheets often
cp949) has ASCII lines that would import and others that cannot be read. Refusing the whole file at
upload, with the line of the first bad bytes, leaves nothing half-imported: the user saves it as
UTF-8 and uploads it again. The check runs on the pieces as they arrive (C decoding, ~1 ms a MB)."""

from __future__ import annotations

import codecs


class Utf8Lines:
    """Fed the upload's pieces in order: counts its line breaks and keeps the first problem."""

    def __init__(self) -> None:
        self.breaks = 0  # "\n" bytes in the pieces fed so far
        self.problem: str | None = None
        self._carry = b""  # the start of a character cut by the end of the last piece

    def feed(self, piece: bytes, *, final: bool = False) -> None:
        if self.problem is None:
            data = self._carry + piece
            try:
                _, used = codecs.utf_8_decode(data, "strict", final)
                self._carry = data[used:]
            except UnicodeDecodeError as exc:
                line = self.breaks - self._carry.count(b"\n") + data.count(b"\n", 0, exc.start) + 1
                self.problem = (
                    f"The file is not UTF-8 at line {line}: {exc.reason}. Save it as UTF-8 "
                    "(\"CSV UTF-8\" in Excel) and upload it again; nothing of it was imported."
                )
        self.breaks += piece.count(b"\n")

    def finish(self) -> str | None:
        """The problem, if any, once every piece was fed (a character cut off at the very end too)."""
        self.feed(b"", final=True)
        return self.problem
