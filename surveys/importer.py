"""The importers' public interface: survey responses and the owner roster from xlsx / xls / csv.

Everything here is all or nothing: a file with any error writes nothing and returns every error (row as the
spreadsheet numbers it, column as headed in the file, value, reason in Chinese). The parts are in
``surveys.importing``; ``import_job_start`` (in ``surveys.services``) runs these in the background.
"""

from core.spreadsheets.files import upload_check
from core.spreadsheets.results import ImportIssue, ImportResult
from surveys.importing.responses import response_columns, responses_import
from surveys.importing.roster import ROSTER_COLUMNS, owners_import
from surveys.importing.workbooks import import_errors_xlsx, response_template_xlsx

__all__ = [
    "ROSTER_COLUMNS",
    "ImportIssue",
    "ImportResult",
    "import_errors_xlsx",
    "owners_import",
    "response_columns",
    "response_template_xlsx",
    "responses_import",
    "upload_check",
]
