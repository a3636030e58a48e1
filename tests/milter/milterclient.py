"""A small client of the milter protocol (version 6), playing the MTA: enough
to drive a real milter daemon over a socket in tests without Postfix.

    with MilterClient(("127.0.0.1", port)) as m:
        r = m.message(b"From: ...\\r\\n\\r\\nbody", mail_from="<a@x>", rcpts=["<b@y>"],
                      queue_id="ABC123")
        r.final      # 'accept', 'continue', 'reject', 'tempfail', 'discard', or
                     # 'reply' with r.reply = "550 5.7.1 ..."
        r.added      # [(name, value)] headers added or inserted
        r.changed    # [(name, index, value)]: value None means deleted
        r.quarantine # reason or None

Packets: a 4-byte big-endian length, a command byte, the data. The client
honours what the milter negotiates: steps it asked to skip are not sent, and
steps it asked not to answer are not waited for.
"""
import socket
import struct

SMFIP_NOCONNECT, SMFIP_NOHELO, SMFIP_NOMAIL, SMFIP_NORCPT = 0x1, 0x2, 0x4, 0x8
SMFIP_NOBODY, SMFIP_NOHDRS, SMFIP_NOEOH, SMFIP_NR_HDR = 0x10, 0x20, 0x40, 0x80
SMFIP_NOUNKNOWN, SMFIP_NODATA, SMFIP_SKIP, SMFIP_RCPT_REJ = 0x100, 0x200, 0x400, 0x800
SMFIP_NR_CONN, SMFIP_NR_HELO, SMFIP_NR_MAIL, SMFIP_NR_RCPT = 0x1000, 0x2000, 0x4000, 0x8000
SMFIP_NR_DATA, SMFIP_NR_UNKN, SMFIP_NR_EOH, SMFIP_NR_BODY = 0x10000, 0x20000, 0x40000, 0x80000
ALL_PROTO = 0xFFFFF  # every step flag up to NR_BODY (no HDR_LEADSPC)
ALL_ACTIONS = 0x1FF

FINAL = {b"a": "accept", b"c": "continue", b"r": "reject", b"t": "tempfail",
         b"d": "discard", b"y": "reply"}


class MilterError(RuntimeError):
    pass


class Result:
    def __init__(self):
        self.final = None
        self.reply = None
        self.added = []
        self.changed = []
        self.quarantine = None

    def header(self, name):
        """Value of an added header, or None."""
        for n, v in self.added:
            if n.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return (f"Result(final={self.final!r}, reply={self.reply!r}, added={self.added!r}, "
                f"changed={self.changed!r}, quarantine={self.quarantine!r})")


class MilterClient:
    def __init__(self, address, timeout=30, offer_proto=ALL_PROTO):
        family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if family == socket.AF_INET:
            # As an MTA should: no Nagle stall between a packet and the next.
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.connect(address)
        self.send(b"O", struct.pack(">III", 6, ALL_ACTIONS, offer_proto))
        cmd, data = self.recv()
        if cmd != b"O" or len(data) < 12:
            raise MilterError(f"bad negotiation reply {cmd!r}")
        self.version, self.actions, self.proto = struct.unpack(">III", data[:12])

    # ---- packets -------------------------------------------------------

    def send(self, cmd, data=b""):
        self.sock.sendall(struct.pack(">I", len(data) + 1) + cmd + data)

    def send_raw(self, raw):
        self.sock.sendall(raw)

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise MilterError("connection closed by the milter")
            buf += chunk
        return buf

    def recv(self):
        (n,) = struct.unpack(">I", self._read(4))
        pkt = self._read(n)
        return pkt[:1], pkt[1:]

    def _step(self, cmd, data, skip_flag, nr_flag):
        """Sends one step unless skipped; returns its reply, or None when the
        milter asked for none."""
        if skip_flag and self.proto & skip_flag:
            return None
        self.send(cmd, data)
        if nr_flag and self.proto & nr_flag:
            return None
        rcmd, rdata = self.recv()
        if rcmd not in FINAL:
            raise MilterError(f"unexpected reply {rcmd!r} to {cmd!r}")
        return FINAL[rcmd], rdata

    STEP_FLAGS = {b"C": (SMFIP_NOCONNECT, SMFIP_NR_CONN), b"H": (SMFIP_NOHELO, SMFIP_NR_HELO),
                  b"M": (SMFIP_NOMAIL, SMFIP_NR_MAIL), b"R": (SMFIP_NORCPT, SMFIP_NR_RCPT),
                  b"T": (SMFIP_NODATA, SMFIP_NR_DATA), b"L": (SMFIP_NOHDRS, SMFIP_NR_HDR),
                  b"N": (SMFIP_NOEOH, SMFIP_NR_EOH), b"B": (SMFIP_NOBODY, SMFIP_NR_BODY)}

    def step(self, cmd, data=b""):
        """One step by hand, honouring the negotiated flags."""
        return self._step(cmd, data, *self.STEP_FLAGS[cmd])

    # ---- a message -----------------------------------------------------

    def connect_info(self, host="client.example", addr="127.0.0.1", port=40000):
        self._step(b"C", host.encode() + b"\0" + b"4" + struct.pack(">H", port) +
                   addr.encode() + b"\0", SMFIP_NOCONNECT, SMFIP_NR_CONN)
        self._step(b"H", b"client.example\0", SMFIP_NOHELO, SMFIP_NR_HELO)

    def message(self, raw, mail_from="<sender@example.org>", rcpts=("<rcpt@parliament.example>",),
                queue_id="TESTQ1", chunk=65535, headers=None):
        """Sends one message: envelope, headers (parsed from raw unless
        given as [(name, value)]), body in chunks, end of message. Returns
        a Result. A non-continue reply before the end returns early."""
        res = Result()
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        head, sep, body = raw.partition(b"\r\n\r\n")
        if not sep:
            head, body = raw, b""
        if headers is None:
            headers = parse_headers(head)
        self.send(b"D", b"M" + b"i\0" + queue_id.encode() + b"\0")
        for cmd, data, skip, nr in (
                (b"M", mail_from.encode() + b"\0", SMFIP_NOMAIL, SMFIP_NR_MAIL),
                *[(b"R", r.encode() + b"\0", SMFIP_NORCPT, SMFIP_NR_RCPT) for r in rcpts],
                (b"T", b"", SMFIP_NODATA, SMFIP_NR_DATA)):
            r = self._step(cmd, data, skip, nr)
            if r and r[0] != "continue":
                res.final = r[0]
                return res
        for name, value in headers:
            r = self._step(b"L", name + b"\0" + value + b"\0", SMFIP_NOHDRS, SMFIP_NR_HDR)
            if r and r[0] != "continue":
                res.final = r[0]
                return res
        self._step(b"N", b"", SMFIP_NOEOH, SMFIP_NR_EOH)
        for i in range(0, len(body), chunk):
            r = self._step(b"B", body[i:i + chunk], SMFIP_NOBODY, SMFIP_NR_BODY)
            if r and r[0] != "continue":
                res.final = r[0]
                return res
        self.send(b"D", b"E" + b"i\0" + queue_id.encode() + b"\0")
        self.send(b"E")
        return self.read_eom(res)

    def read_eom(self, res=None):
        res = res or Result()
        while True:
            cmd, data = self.recv()
            if cmd == b"h":
                n, v = data.split(b"\0")[:2]
                res.added.append((n.decode(), v.decode()))
            elif cmd == b"i":
                n, v = data[4:].split(b"\0")[:2]
                res.added.append((n.decode(), v.decode()))
            elif cmd == b"m":
                (idx,) = struct.unpack(">I", data[:4])
                n, v = data[4:].split(b"\0")[:2]
                res.changed.append((n.decode(), idx, v.decode() if v else None))
            elif cmd == b"q":
                res.quarantine = data.rstrip(b"\0").decode()
            elif cmd == b"p":
                continue
            elif cmd in FINAL:
                res.final = FINAL[cmd]
                if cmd == b"y":
                    res.reply = data.rstrip(b"\0").decode()
                return res
            else:
                raise MilterError(f"unexpected {cmd!r} at end of message")

    def abort(self):
        self.send(b"A")

    def close(self):
        try:
            self.send(b"Q")
        except OSError:
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def parse_headers(head):
    """[(name, value)] of a CRLF header block, folded lines kept in the
    value with LF as the MTA sends them."""
    out = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + b"\n" + line)
        elif b":" in line:
            n, v = line.split(b":", 1)
            out.append((n.strip(), v.lstrip(b" \t")))
    return out
