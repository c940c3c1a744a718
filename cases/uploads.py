"""Receiving an attachment: each file is hashed (SHA-256) chunk by chunk as the upload streams to disk.

Django hands every chunk of a multipart body to its upload handlers once; this handler writes it to a
temporary file, feeds it to the hash, counts its size and keeps the first bytes for type sniffing, so the
file is never read again to learn what it is, nor held whole in memory. A file over
ATTACHMENT_MAX_BYTES is skipped as soon as it passes the limit and noted in `refused`.
"""

import hashlib

from django.conf import settings
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler

SNIFF_BYTES = 8192  # libmagic decides every type on the allow-list from the first few kilobytes


class HashingUploadHandler(TemporaryFileUploadHandler):
    def __init__(self, request=None, *, max_bytes: int | None = None):
        super().__init__(request)
        self.max_bytes = settings.ATTACHMENT_MAX_BYTES if max_bytes is None else max_bytes
        self.refused: dict[str, int] = {}  # file name -> bytes received when it passed the limit

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self._sha256 = hashlib.sha256()
        self._size = 0
        self._head = b""

    def receive_data_chunk(self, raw_data, start):
        self._size += len(raw_data)
        if self._size > self.max_bytes:
            self.refused[self.file_name] = self._size
            self.file.close()
            raise SkipFile
        self._sha256.update(raw_data)
        if len(self._head) < SNIFF_BYTES:
            self._head += raw_data[: SNIFF_BYTES - len(self._head)]
        return super().receive_data_chunk(raw_data, start)

    def file_complete(self, file_size):
        uploaded = super().file_complete(file_size)
        uploaded.sha256 = self._sha256.hexdigest()
        uploaded.head = self._head
        return uploaded


def use_hashing_uploads(request) -> HashingUploadHandler:
    """Make `request` hash its uploads as they stream in (before anything reads its body)."""
    handler = HashingUploadHandler(request)
    request.upload_handlers = [handler]
    return handler
