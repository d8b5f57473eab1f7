"""Celery's filesystem transport (the embedded `make run` set-up, no service to install) with atomic writes.

kombu's own transport creates a message's file under its final name and then writes it, while a worker polling the
folder moves and reads any file with that name at once: under load (owners answering online at the same moment) the
worker read a message still empty or half-written and died on a JSONDecodeError. Here a message is written under a
name the consumer never picks up (a leading dot, no ``.<queue>.msg`` suffix), flushed, and renamed into place with
``os.replace``, atomic on one filesystem: a consumer sees either no file or the whole message.

Used by ``CELERY_BROKER_TRANSPORT`` when ``CELERY_BROKER_URL`` is ``filesystem://`` (config/settings.py).
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


def message_file_name(queue: str) -> str:
    """kombu's name for a message file: ordered by time, then unique, then the queue it belongs to."""
    return f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"


def partial_file_name() -> str:
    """A name no consumer takes for a message of any queue (it reads names ``<stamp>.<queue>.msg``)."""
    return f".{uuid.uuid4().hex}.partial"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put ``payload`` onto ``queue``: written whole under a partial name, then renamed into place."""
        final = os.path.join(self.data_folder_out, message_file_name(queue))
        partial = os.path.join(self.data_folder_out, partial_file_name())
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            try:
                os.remove(partial)
            except OSError:
                pass
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
