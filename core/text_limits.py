"""How long free text may be, in characters: one set of limits for models, forms, serializers and importers.

Generous for what people write (a plan's directions run to a few pages), small enough that nobody stores a
megabyte in a comment box. Forms and serializers refuse longer text with a message; the database checks the
longest-lived fields too.
"""

NOTE = 2000  # a comment, a note, a progress entry, a review opinion
TEXT = 4000  # a description: feedback, an action item, a pilot's scope and processes
LONG_TEXT = 10000  # a plan's main directions and its summary of front-line feedback
CODE = 64  # a code or slug naming another object (survey, project, department)


def length_check(field: str, limit: int, *, name: str):
    """A database check that ``field`` holds at most ``limit`` characters (the backstop behind form validation)."""
    from django.db import models
    from django.db.models.functions import Length
    from django.db.models.lookups import LessThanOrEqual

    return models.CheckConstraint(condition=models.Q(LessThanOrEqual(Length(field), limit)), name=name)
