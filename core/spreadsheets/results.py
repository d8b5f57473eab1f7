"""What an import returns: counts and every problem found, cell by cell; and how it reports its progress."""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

# An import reports how far it is (0–100) to this, when given one (a background job's progress bar).
Progress = Callable[[int], None] | None


def report_progress(progress: Progress, percent: float) -> None:
    if progress is not None:
        progress(max(0, min(100, int(percent))))


@dataclass(frozen=True)
class ImportIssue:
    """One problem: ``row`` as the spreadsheet numbers it (header = 1; 0 = the file as a whole),
    ``column`` as headed in the file (key or label), the cell's ``value`` as text, ``reason`` in Chinese."""

    row: int
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)

    def as_line(self) -> str:
        if self.row == 0 and not self.column:
            return self.reason
        return f'row {self.row}, column {self.column}, value "{self.value}": {self.reason}'


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[ImportIssue] = field(default_factory=list)
    total_rows: int = 0
    # What the import created besides its own rows: [(code, name)] and [(project code, unit, name)].
    created_projects: list[tuple[str, str]] = field(default_factory=list)
    created_owners: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def refused(self) -> bool:
        """The file itself was refused (too large, not a spreadsheet, …) before any cell was read."""
        return bool(self.errors) and all(issue.row == 0 and not issue.column for issue in self.errors)

    @classmethod
    def refusal(cls, messages: list[str], *, file_name: str = "") -> "ImportResult":
        return cls(errors=[ImportIssue(row=0, column="", value=file_name, reason=message) for message in messages])
