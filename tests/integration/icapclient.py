"""icapclient -- a small ICAP client (RFC 3507) for promptcause's tests.

c-icap-client cannot send a 401 (its HTTP status line is fixed), so the tests
speak ICAP themselves: OPTIONS, and RESPMOD with encapsulated request headers,
response headers and a chunked body, with or without Preview (and "0; ieof"
when the whole body fits in the preview), or a null-body. The answer is parsed
into the ICAP status and headers, the encapsulated HTTP headers and the
de-chunked body. Standard library only; one connection per transaction.
"""
import socket

CRLF = b"\r\n"


class IcapError(Exception):
    """The server's answer could not be parsed, or the connection broke."""


class IcapResponse:
    """One ICAP answer: status, ICAP headers, encapsulated HTTP head and body."""

    def __init__(self, status, reason, headers, http_head=b"", body=None, preview_answer=None):
        self.status = status                  # 200, 204, 100 ...
        self.reason = reason
        self.headers = headers                # [(name, value)] in order
        self.http_head = http_head            # raw encapsulated HTTP header block (bytes)
        self.body = body                      # de-chunked body bytes, or None (no body)
        self.preview_answer = preview_answer  # status answered to the preview, if one was sent

    def header(self, name):
        """First ICAP header named name (case-insensitive), or None."""
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    @property
    def http_status_line(self):
        lines = self.http_head.split(CRLF)
        return lines[0].decode("latin-1") if lines and lines[0] else None

    @property
    def http_headers(self):
        """Encapsulated HTTP headers as [(name, value)], status line excluded."""
        out = []
        for line in self.http_head.split(CRLF)[1:]:
            if not line:
                continue
            name, _, value = line.decode("latin-1").partition(":")
            out.append((name.strip(), value.strip()))
        return out

    def http_header(self, name):
        for n, v in self.http_headers:
            if n.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return f"<IcapResponse {self.status} {self.reason} {self.headers!r}>"


class _Reader:
    """Buffered reads over a socket with a deadline."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise IcapError("connection closed by the ICAP server")
        self.buf += data

    def until(self, marker):
        while marker not in self.buf:
            self._fill()
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def exactly(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def _head(text):
    """str or bytes HTTP head, normalised to CRLF line ends and a final blank line."""
    if isinstance(text, str):
        text = text.encode("latin-1")
    lines = text.replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n")
    return CRLF.join(lines) + CRLF + CRLF


def _chunk(data):
    return b"%x\r\n" % len(data) + data + CRLF if data else b""


def _parse_icap_head(raw):
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("ICAP/"):
        raise IcapError(f"bad ICAP status line {lines[0]!r}")
    status = int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return status, reason, headers


def _read_chunked(reader):
    body = b""
    while True:
        size_line = reader.until(CRLF)
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            reader.until(CRLF)  # end of (empty) trailer
            return body
        body += reader.exactly(size)
        reader.exactly(2)


def _read_answer(reader, preview_answer=None):
    raw = reader.until(CRLF + CRLF)
    status, reason, headers = _parse_icap_head(raw)
    resp = IcapResponse(status, reason, headers, preview_answer=preview_answer)
    encaps = resp.header("Encapsulated")
    if status in (100,) or not encaps:
        return resp
    offsets = []
    for item in encaps.split(","):
        name, _, off = item.strip().partition("=")
        offsets.append((name.strip(), int(off)))
    head_len = 0
    body_kind = None
    for name, off in offsets:
        if name.endswith("-body"):
            body_kind = name
            head_len = off
    if head_len:
        block = reader.exactly(head_len)
        # keep only the response header block (res-hdr), the last one
        starts = [off for name, off in offsets if name.endswith("-hdr")]
        last = max(starts) if starts else 0
        resp.http_head = block[last:]
    if body_kind in ("res-body", "req-body"):
        resp.body = _read_chunked(reader)
    return resp


def _send_and_read(port, payload, timeout, host="127.0.0.1"):
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(payload)
        return _read_answer(_Reader(s))


def options(port, service="promptcause", timeout=10.0):
    """OPTIONS request; returns the IcapResponse (headers: Preview, Allow, ...)."""
    req = (f"OPTIONS icap://127.0.0.1:{port}/{service} ICAP/1.0\r\n"
           f"Host: 127.0.0.1:{port}\r\n"
           "Encapsulated: null-body=0\r\n\r\n").encode()
    return _send_and_read(port, req, timeout)


def respmod(port, req_hdr, res_hdr, body=None, preview=None, allow204=True,
            service="promptcause", icap_headers=None, timeout=10.0):
    """One RESPMOD transaction.

    req_hdr, res_hdr: HTTP heads (str or bytes, line ends free); req_hdr may be
    None. body: bytes, or None for a null-body. preview: None (no Preview
    header, whole body sent at once) or N (first N bytes as preview, "0; ieof"
    when the body fits). icap_headers: extra ICAP headers (e.g. X-Client-IP).
    Returns the final IcapResponse; .preview_answer tells what the server said
    to the preview (204 or 100)."""
    parts = []
    enc = []
    off = 0
    if req_hdr is not None:
        rh = _head(req_hdr)
        enc.append(f"req-hdr={off}")
        parts.append(rh)
        off += len(rh)
    sh = _head(res_hdr)
    enc.append(f"res-hdr={off}")
    parts.append(sh)
    off += len(sh)
    enc.append(f"res-body={off}" if body is not None else f"null-body={off}")

    lines = [f"RESPMOD icap://127.0.0.1:{port}/{service} ICAP/1.0",
             f"Host: 127.0.0.1:{port}",
             f"Encapsulated: {', '.join(enc)}"]
    if allow204:
        lines.append("Allow: 204")
    if preview is not None and body is not None:
        lines.append(f"Preview: {preview}")
    for name, value in (icap_headers or {}).items():
        lines.append(f"{name}: {value}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    encaps = b"".join(parts)

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        reader = _Reader(s)
        if body is None:
            s.sendall(head + encaps)
            return _read_answer(reader)
        if preview is None:
            s.sendall(head + encaps + _chunk(body) + b"0\r\n\r\n")
            return _read_answer(reader)
        first, rest = body[:preview], body[preview:]
        if not rest:
            s.sendall(head + encaps + _chunk(first) + b"0; ieof\r\n\r\n")
            answer = _read_answer(reader)
            answer.preview_answer = answer.status
            return answer
        s.sendall(head + encaps + _chunk(first) + b"0\r\n\r\n")
        answer = _read_answer(reader)
        if answer.status != 100:
            answer.preview_answer = answer.status
            return answer
        s.sendall(_chunk(rest) + b"0\r\n\r\n")
        return _read_answer(reader, preview_answer=100)


def reqmod(port, req_hdr, service="info?view=text", timeout=10.0):
    """REQMOD with request headers and a null-body (e.g. c-icap's `info`
    service, which answers with its statistics page as the HTTP body)."""
    rh = _head(req_hdr)
    head = (f"REQMOD icap://127.0.0.1:{port}/{service} ICAP/1.0\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            f"Encapsulated: req-hdr=0, null-body={len(rh)}\r\n\r\n").encode("latin-1")
    return _send_and_read(port, head + rh, timeout)
