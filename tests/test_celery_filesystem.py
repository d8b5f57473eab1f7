"""The embedded broker (Celery's filesystem transport, `make run`): a worker never reads half a message.

kombu's own transport created each message file under its final name before writing it, and a polling worker read it
empty or half-written (JSONDecodeError) when owners answered online at the same moment. core/celery_fs.py writes under
a partial name and renames into place.
"""

import threading

import pytest
from django.conf import settings
from kombu import Connection

from core.celery_fs import Channel, Transport, partial_file_name


def connection(tmp_path) -> Connection:
    folder = tmp_path / "queue"
    folder.mkdir(exist_ok=True)
    control = tmp_path / "control"
    control.mkdir(exist_ok=True)
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "store_processed": False,
               "control_folder": str(control), "polling_interval": 0.001}
    return Connection("filesystem://", transport=Transport, transport_options=options)


def test_the_settings_use_it_for_a_filesystem_broker():
    # config/settings.py sets it exactly when CELERY_BROKER_URL is filesystem:// (make run); elsewhere unused.
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        assert settings.CELERY_BROKER_TRANSPORT == "core.celery_fs:Transport"
    with Connection("filesystem://", transport="core.celery_fs:Transport") as conn:
        assert conn.transport_cls is Transport or conn.get_transport_cls() is Transport


def test_messages_go_through_whole(tmp_path):
    # (Order is kombu's: by the millisecond, then by a random id within one millisecond.)
    with connection(tmp_path) as conn:
        queue = conn.SimpleQueue("answers")
        bodies = [{"n": i, "text": "业主意见" * 500} for i in range(20)]
        for body in bodies:
            queue.put(body)
        got = [queue.get(timeout=1) for _ in bodies]
        for message in got:
            message.ack()
        assert sorted((m.payload for m in got), key=lambda body: body["n"]) == bodies
        assert not list((tmp_path / "queue").iterdir())
        queue.close()


def test_a_message_still_being_written_is_not_taken(tmp_path):
    """A file under the writer's partial name (what a consumer would see mid-write) is left alone, not read."""
    with connection(tmp_path) as conn:
        channel = conn.default_channel
        assert isinstance(channel, Channel)
        partial = tmp_path / "queue" / partial_file_name()
        partial.write_bytes(b'{"body": "half')
        with pytest.raises(Exception) as empty:  # kombu's Empty: nothing to take
            channel._get("celery")
        assert type(empty.value).__name__ == "Empty"
        assert partial.read_bytes() == b'{"body": "half'


def test_concurrent_writers_and_a_reader_lose_and_break_nothing(tmp_path, monkeypatch):
    """Four threads put 50 large messages each while one reads: every message arrives once, every one decodes.

    Serialising a message is slowed down (as a loaded machine does): kombu's own transport, which opens the final file
    before serialising into it, then hands the reader empty files (shown to fail with it: JSONDecodeError)."""
    import time

    import kombu.transport.filesystem

    import core.celery_fs

    def slow_dumps(payload, _dumps=core.celery_fs.dumps):
        time.sleep(0.005)
        return _dumps(payload)

    monkeypatch.setattr(core.celery_fs, "dumps", slow_dumps)
    monkeypatch.setattr(kombu.transport.filesystem, "dumps", slow_dumps)
    from queue import Empty

    received, errors = [], []
    writing = threading.Event()
    writing.set()

    # The channel's own put and get (what Celery's producer and worker call), one connection per thread.
    def write(k):
        with connection(tmp_path) as conn:
            for i in range(50):
                conn.default_channel._put("answers", {"writer": k, "i": i, "pad": "x" * 20_000})

    def read():
        with connection(tmp_path) as conn:
            channel = conn.default_channel
            while len(received) < 200:
                # Read before looking: an empty folder ends the loop only if every writer had finished before it.
                finished = not writing.is_set()
                try:
                    payload = channel._get("answers")
                except Empty:
                    if finished:
                        break
                    continue
                except Exception as exc:  # a half-written file surfaces here (JSONDecodeError)
                    errors.append(exc)
                    continue
                received.append((payload["writer"], payload["i"]))

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    writing.clear()
    reader.join(timeout=60)
    assert errors == []
    assert sorted(received) == sorted((k, i) for k in range(4) for i in range(50))
