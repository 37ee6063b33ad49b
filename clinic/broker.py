"""kombu's transports as this project uses them: Redis without building a client for every message it publishes, and
the filesystem (the zero-setup broker) without a reader ever seeing half a message.

kombu wraps its channel's connection pool in a new `redis.Redis` for every publish (`conn_or_acquire`); each
booking publishes once after commit, and the wrapper cost about a quarter of the publish (py-spy, bench/NOTES.md).
The client is thread-safe and holds no connection of its own, so one per pool is enough: a new one is made when
kombu replaces the pool (as it does in a forked worker). The same idea as clinic/cache.py.
"""

import os
import uuid
from contextlib import contextmanager
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, redis
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(redis.Channel):
    _reused_client = None

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client:
            yield client
            return
        pool = self.pool
        if self._reused_client is None or self._reused_client.connection_pool is not pool:
            self._reused_client = self._create_client()
        yield self._reused_client


class Transport(redis.Transport):
    Channel = Channel


class FilesystemChannel(filesystem.Channel):
    """kombu's filesystem channel (the `make run` broker), each message written whole before a worker can see it.

    kombu 5 creates the `.msg` file, then locks and writes it, while a reader moves and reads files without the
    lock: a worker that came by in between read an empty file and stopped ("Unrecoverable error: JSONDecodeError"),
    and honcho stopped the whole development stack with it. Here a message is written under a name no reader picks
    up (`….msg.part`), then renamed into place, which is atomic within one folder.
    """

    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.part"
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as error:
            raise ChannelError(f"Cannot add file {final!r} to directory") from error


class FilesystemTransport(filesystem.Transport):
    Channel = FilesystemChannel
