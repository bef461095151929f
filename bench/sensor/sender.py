#!/usr/bin/env python3
"""Signed GitHub push sender for bench/sensor/run.sh: records, per request, when it was due, sent and answered.

    sender.py URL BODY_FILE SECRET RUN_ID OUT_CSV burst N CONNECTIONS
    sender.py URL BODY_FILE SECRET RUN_ID OUT_CSV paced RATE SECONDS CONNECTIONS

burst   N requests over CONNECTIONS keep-alive connections, each sending its next request as soon as the
        answer to the last one arrives (as fast as the server accepts them).
paced   RATE requests/s for SECONDS on a fixed schedule (request i is due at start + i/RATE); each goes out at
        its slot on an idle connection (a new one, up to CONNECTIONS, if all are busy). A server that falls
        behind shows as send times later than due times, not hidden in the percentiles.

Every request carries the same body, signed as GitHub does (X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of
the body>), and a fresh X-GitHub-Delivery "<RUN_ID>-<8-digit index>": the delivery id is egw's event id and
dedup key, so every request is a distinct event. Times are time.time_ns() (CLOCK_REALTIME), the clock egw's
timestamps and `date +%s%N` in the commands use.

OUT_CSV gets one line per request: delivery,due_ns,send_ns,ack_ns,status (status 0: no answer; the error is
in the last column). A summary goes to stderr.
"""
import asyncio
import hashlib
import hmac
import sys
import time


def build_template(url, body, secret):
    if not url.startswith("http://"):
        raise SystemExit(f"only http:// URLs, got {url}")
    rest = url[len("http://"):]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    head = (f"POST /{path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\n"
            f"User-Agent: GitHub-Hookshot/bench\r\nX-GitHub-Event: push\r\nX-GitHub-Hook-ID: 512345678\r\n"
            f"X-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\nX-GitHub-Delivery: ").encode()
    return host, int(port or 80), head, b"\r\n\r\n" + body


class Connection:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    async def exchange(self, request):
        """Sends one request and reads the whole answer; returns the status code."""
        self.writer.write(request)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed before an answer")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            while True:
                size = int((await self.reader.readline()).split(b";")[0].strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length:
            await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.reader = None
        return status


async def main():
    url, body_file, secret, run_id, out = sys.argv[1:6]
    mode = sys.argv[6]
    body = open(body_file, "rb").read()
    host, port, head, tail = build_template(url, body, secret)
    if mode == "burst":
        n, conns = int(sys.argv[7]), int(sys.argv[8])
        rate = seconds = 0
    elif mode == "paced":
        rate, seconds, conns = float(sys.argv[7]), float(sys.argv[8]), int(sys.argv[9])
        n = int(rate * seconds)
    else:
        raise SystemExit(f"mode must be burst or paced, got {mode}")
    rows = [None] * n
    idle = []
    opened = 0
    slots = asyncio.Semaphore(conns)

    async def connection():
        nonlocal opened
        while idle:
            c = idle.pop()
            if c.reader is not None:
                return c
        opened += 1
        r, w = await asyncio.open_connection(host, port)
        return Connection(r, w)

    async def send(i, due):
        delivery = f"{run_id}-{i:08d}"
        request = head + delivery.encode() + tail
        async with slots:
            c = None
            try:
                c = await connection()
                sent = time.time_ns()
                status = await asyncio.wait_for(c.exchange(request), 30)
                ack = time.time_ns()
                rows[i] = (delivery, due, sent, ack, status, "")
                if c.reader is not None:
                    idle.append(c)
            except Exception as e:  # noqa: BLE001 - every failure is recorded against its request
                rows[i] = (delivery, due, time.time_ns() if c is None else sent, 0, 0, f"{type(e).__name__}: {e}".replace(",", ";"))
                if c is not None and c.writer is not None:
                    c.writer.close()

    start = time.time_ns()
    if mode == "burst":
        counter = iter(range(n))

        async def worker():
            for i in counter:
                await send(i, time.time_ns())

        await asyncio.gather(*(worker() for _ in range(conns)))
    else:
        tasks = []
        interval = 1e9 / rate
        loop = asyncio.get_running_loop()
        for i in range(n):
            due = start + int(i * interval)
            wait = (due - time.time_ns()) / 1e9
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(loop.create_task(send(i, due)))
        await asyncio.gather(*tasks)
    end = time.time_ns()
    for c in idle:
        if c.writer is not None:
            c.writer.close()

    ok = sum(1 for r in rows if 200 <= r[4] < 300)
    with open(out, "w") as f:
        f.write("delivery,due_ns,send_ns,ack_ns,status,error\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")
    late = sorted((r[2] - r[1]) / 1e6 for r in rows)
    print(f"sender: {n} requests in {(end - start) / 1e9:.2f} s ({n / ((end - start) / 1e9):.0f}/s), {ok} answered 2xx, "
          f"{opened} connections; send later than due: p50 {late[len(late) // 2]:.2f} ms, max {late[-1]:.2f} ms",
          file=sys.stderr)


asyncio.run(main())
