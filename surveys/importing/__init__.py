"""The spreadsheet importers (survey responses, owner roster): reading files, checking cells, bulk writes.

The public names live in ``surveys.importer``; this package holds the parts.
"""
