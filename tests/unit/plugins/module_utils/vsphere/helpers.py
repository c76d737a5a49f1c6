"""Shared by test_datastore_file.py and serial_ports/test_log.py: a fake of vCenter's /folder that
answers ranged GETs and counts the bytes it serves, and numbered lines to fill it with."""
from ansible_collections.vmchannels.vsphere.plugins.module_utils.vsphere import datastore_file as dsf


class FakeServer(object):
    """Answers ranged GETs of ``content`` like vCenter's /folder (Go's file server): 206 with
    Content-Range, 416 with ``bytes */size`` past the end. Records each Range and the bytes served."""

    def __init__(self, content):
        self.content = content
        self.requests = []
        self.bytes_read = 0

    def get(self, range_header, limit):
        size = len(self.content)
        spec = range_header.split("=", 1)[1]
        first, last = spec.split("-", 1) if not spec.startswith("-") else ("", spec[1:])
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
            if start >= size:
                self.requests.append((range_header, 0))
                return dsf.Answer(416, (None, None, size), b"")
        body = self.content[start:end + 1]
        assert len(body) <= limit
        self.requests.append((range_header, len(body)))
        self.bytes_read += len(body)
        return dsf.Answer(206, (start, end, size), body)


def lines(first, count, width=0):
    return b"".join(b"%s%d\n" % (b"x" * width, i) for i in range(first, first + count))
