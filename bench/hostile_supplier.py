#!/usr/bin/env python3
"""A hostile supplier for bench/bounds.sh: misbehaves in one chosen way on 127.0.0.1.

    bench/hostile_supplier.py --mode MODE [--port 0] [--log FILE]

Prints "listening http://127.0.0.1:PORT" as its first stdout line. Raw asyncio streams, not
http.server (which refuses to misbehave); Python standard library only. On SIGTERM or SIGINT it
prints a summary (requests, token calls, bytes sent) to stderr and exits.

--log FILE appends one JSON line per request (path, form fields, headers) as soon as the request
is read, so that bench/bounds.sh can count token calls and collect every secret the supplier
saw (password md5, sign, token) even if the supplier is killed.

Unless the mode says otherwise the token interface issues a valid token (expires_at far in the
future), get_pools and skus answer small valid lists, and every other interface a small valid
answer; image URLs point at this same server (/img/...), which serves a small PNG.

Modes:
  big-valid        every answer (token, pools and skus included) is a valid envelope of ~7.5 MiB:
                   its desc is padded
  big-images       image URLs (detail image_path, images) are on this server; every image GET
                   answers a 7.5 MiB body starting with the PNG magic number (Range is ignored)
  many-items       every detail answer is ~8 MB (under the 8 MiB default cap) holding a detail
                   object with an extra array of 2.7 million small numbers
  million-skus     pool A0101 lists 1,000,000 SKU ids (5-character base-36 ids, so that the
                   answer, ~7.6 MiB, stays under the 8 MiB default cap); pool A0102 is small
  never-answers    every connection is accepted and read, nothing is ever sent (all paths)
  drip             every interface but token/pools/skus sends its answer 1 byte per second
  slow-status      every interface but token/pools/skus sends its status line 1 byte per second
                   and never finishes it (an endless reason phrase)
  drip-all, slow-status-all, endless-chunked-all
                   the same on every path, the token interface included (the supplier of the
                   issue: it hangs as a whole)
  endless-chunked  every interface but token/pools/skus answers 200, Transfer-Encoding: chunked,
                   then a small chunk every 100 ms, forever
  echo             every answer echoes the request (request line, headers, form body) into desc,
                   into an X-Echo header and into the body again in upper case (field "echo");
                   token, pools, skus are valid, other interfaces answer success:false; the token
                   issued contains '/' and '+' so that its URL-encoded and JSON-escaped forms differ
  redirect-loop    every path answers 307 to itself (all paths)
  reset            every connection is reset (RST) as soon as its request is read (all paths)
  expired-token    the token's expires_at is in the past; everything else answers normally; the
                   number of token calls is printed at exit
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse

MODES = [
    "big-valid", "big-images", "many-items", "million-skus", "never-answers", "drip",
    "slow-status", "endless-chunked", "echo", "redirect-loop", "reset", "expired-token",
    "drip-all", "slow-status-all", "endless-chunked-all",
]
BIG = 15 * 512 * 1024  # 7.5 MiB
SLICE = 64 * 1024
POOLS = [("A0101", "台式计算机"), ("A0102", "便携式计算机")]
SKUS_PER_POOL = 10
# A 1x1 PNG.
SMALL_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

stats = {"requests": 0, "token_calls": 0, "image_gets": 0, "bytes_sent": 0, "connections": 0}
mode = ""
base = ""
log_file = None
# Built once, streamed by slices (never copied per answer).
big = {}


def envelope(result, success=True, desc="ok"):
    return json.dumps({"success": success, "desc": desc, "result": result},
                      ensure_ascii=False, separators=(",", ":")).encode()


def sku_list(form):
    return [s for s in form.get("sku", "").split(",") if s] or ["100000001"]


def image_url(sku, n):
    return f"{base}/img/{urllib.parse.quote(sku)}/{n}.png"


def pool_skus(pool):
    prefix = "1" if pool == "A0101" else "2"
    return [f"{prefix}{i:08d}" for i in range(1, SKUS_PER_POOL + 1)]


def token_result():
    if mode == "expired-token":
        return {"access_token": "0123456789abcdef0123456789abcdef",
                "expires_at": "2000-01-01 00:00:00"}
    token = "Tok/en+9f86d081884c7d65" if mode == "echo" else "0123456789abcdef0123456789abcdef"
    return {"access_token": token, "expires_at": "2099-12-31 23:59:59", "expires_in": 129600}


def detail(sku):
    return {
        "sku": sku, "url": f"{base}/item/{sku}.html", "model": "M437", "weight": 9.5,
        "image_path": image_url(sku, 0), "state": 1, "brand_name": "联想（Lenovo）",
        "name": f"台式计算机 {sku}", "product_area": "中国大陆", "upc": "6942306312345",
        "unit": "台", "category": "672", "service": "全国联保", "introduction": "<p>办公</p>",
        "param": "处理器：i5", "ware": "主机×1", "is_energy_saving": 1, "is_environmental": 1,
        "is_imported": 0,
    }


def normal_result(path, form):
    """The small valid result of an interface (None: not an interface of the profile)."""
    name = path.rsplit("/", 1)[-1]
    skus = sku_list(form)
    if name == "access_token":
        return token_result()
    if name == "get_pools":
        return [{"id": i, "name": n} for i, n in POOLS]
    if name == "skus":
        return pool_skus(form.get("catalog_id", "A0101"))
    if name == "detail":
        return detail(skus[0])
    if name == "shelf_states":
        return [{"sku": s, "state": 1} for s in skus]
    if name == "images":
        return [{"sku": s, "images": [{"path": image_url(s, n), "order": n} for n in range(3)]}
                for s in skus]
    if name == "ratings":
        return [{"sku": s, "average": 4.5, "good": 0.9, "medium": 0.07, "bad": 0.03}
                for s in skus]
    if name == "prices":
        return [{"sku": s, "price": 99.0, "market_price": 109.0} for s in skus]
    if name == "provinces":
        return {"北京市": "110000", "天津市": "120000"}
    if name == "cities":
        return {"市辖区": "120100"}
    if name == "counties":
        return {"和平区": "120101", "河东区": "120102"}
    if name == "stocks":
        area = form.get("area_id", "120101")
        return [{"sku": s, "area_id": area, "num": 50, "desc": "有货"} for s in skus]
    if name == "accessories":
        return [{"sku": s, "items": []} for s in skus]
    if name == "warranty":
        return [{"sku": s, "services": []} for s in skus]
    if name == "reconcile":
        return {"orders": [], "count": 0, "amount": 0}
    if name in ("accessory_links", "group_buys", "specials", "tiered_rates", "new_skus",
                "changed_skus", "einvoice"):
        return []
    if path.startswith("/api/"):
        return True
    return None


def head(status, headers, length=None):
    lines = [f"HTTP/1.1 {status}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


JSON = [("Content-Type", "application/json; charset=utf-8")]


def build_big():
    if mode == "big-valid":
        # One padding for every answer: envelope prefix + padding + the result after it.
        big["pad"] = (b"padding " * (BIG // 8 + 1))[:BIG]
    elif mode == "big-images":
        big["image"] = PNG_MAGIC + bytes(BIG - len(PNG_MAGIC))
    elif mode == "many-items":
        # Each detail answer: a detail object (built per answer) with an extra "values" array.
        big["items"] = b"10," * (2_700_000 - 1) + b"10"
    elif mode == "million-skus":
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"
        def b36(i):
            s = ""
            for _ in range(5):
                i, r = divmod(i, 36)
                s = digits[r] + s
            return s
        body = bytearray(b'{"success":true,"desc":"ok","result":[')
        for i in range(1, 1_000_001):
            body += b'"%s",' % b36(i).encode()
        body[-1:] = b"]}"
        big["million"] = bytes(body)


async def send(writer, *parts):
    """Writes parts by slices, waiting for the socket to take each (a bounded buffer)."""
    for part in parts:
        view = memoryview(part)
        for i in range(0, len(view), SLICE):
            writer.write(view[i:i + SLICE])
            stats["bytes_sent"] += min(SLICE, len(view) - i)
            await writer.drain()


async def read_request(reader):
    """(method, target, headers, body, raw) of the next request, None at end of connection."""
    try:
        raw_head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    text = raw_head.decode("latin-1")
    request_line, *header_lines = text.split("\r\n")
    parts = request_line.split(" ")
    if len(parts) < 2:
        return None
    headers = {}
    for line in header_lines:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = b""
    length = int(headers.get("content-length", "0") or 0)
    if length:
        body = await reader.readexactly(length)
    return parts[0], parts[1], headers, body, raw_head + body


def log_request(path, form, headers):
    stats["requests"] += 1
    if path.endswith("/access_token"):
        stats["token_calls"] += 1
    if path.startswith("/img/"):
        stats["image_gets"] += 1
    if log_file:
        log_file.write(json.dumps({"t": round(time.time(), 3), "path": path, "form": form,
                                   "headers": headers}, ensure_ascii=False) + "\n")
        log_file.flush()


async def forever_read(reader):
    while await reader.read(65536):
        pass


async def answer(reader, writer, method, target, headers, body, raw):
    """Answers one request; False closes the connection."""
    path = urllib.parse.urlsplit(target).path
    form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace"),
                                                       keep_blank_values=True).items()}
    log_request(path, form, headers)
    name = path.rsplit("/", 1)[-1]
    basic = name in ("access_token", "get_pools", "skus") and not mode.endswith("-all")

    if mode == "never-answers":
        await forever_read(reader)
        return False
    if mode == "reset":
        sock = writer.get_extra_info("socket")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        writer.transport.abort()
        return False
    if mode == "redirect-loop":
        await send(writer, head("307 Temporary Redirect", [("Location", target)], 0))
        return True

    if path.startswith("/img/"):
        if mode == "big-images":
            await send(writer, head("200 OK", [("Content-Type", "image/png")], len(big["image"])),
                       big["image"])
        else:
            await send(writer, head("200 OK", [("Content-Type", "image/png")], len(SMALL_PNG)),
                       SMALL_PNG)
        return True

    result = normal_result(path, form)
    if result is None:
        text = b'{"success":false,"desc":"not found","result":null}'
        await send(writer, head("404 Not Found", JSON, len(text)), text)
        return True

    if mode == "big-valid":
        prefix = b'{"success":true,"desc":"'
        suffix = b'","result":' + json.dumps(result, ensure_ascii=False,
                                             separators=(",", ":")).encode() + b"}"
        await send(writer, head("200 OK", JSON, len(prefix) + BIG + len(suffix)), prefix,
                   big["pad"], suffix)
        return True
    if mode == "many-items" and name == "detail":
        d = json.dumps(detail(sku_list(form)[0]), ensure_ascii=False, separators=(",", ":"))
        h = b'{"success":true,"desc":"ok","result":' + d[:-1].encode() + b',"values":['
        tail = b"]}}"
        n = len(h) + len(big["items"]) + len(tail)
        await send(writer, head("200 OK", JSON, n), h, big["items"], tail)
        return True
    if mode == "million-skus" and name == "skus" and form.get("catalog_id", "A0101") == "A0101":
        await send(writer, head("200 OK", JSON, len(big["million"])), big["million"])
        return True
    if mode == "echo":
        echo = raw.decode("utf-8", "replace")
        ok = basic
        text = json.dumps({"success": ok, "desc": echo, "result": result if ok else None,
                           "echo": echo.upper()}, ensure_ascii=False).encode()
        line = " ".join(echo.split())
        hdrs = JSON + [("X-Echo", line), ("X-Echo-Upper", line.upper())]
        await send(writer, head("200 OK", hdrs, len(text)), text)
        return True

    text = envelope(result)
    if basic or mode in ("big-images", "many-items", "million-skus", "expired-token"):
        await send(writer, head("200 OK", JSON, len(text)), text)
        return True
    mode_kind = mode.removesuffix("-all")
    if mode_kind == "drip":
        whole = head("200 OK", JSON, len(text)) + text
        for i in range(len(whole)):
            writer.write(whole[i:i + 1])
            stats["bytes_sent"] += 1
            await writer.drain()
            await asyncio.sleep(1)
        return True
    if mode_kind == "slow-status":
        line = b"HTTP/1.1 200 OK"
        i = 0
        while True:
            writer.write(line[i:i + 1] if i < len(line) else b".")
            stats["bytes_sent"] += 1
            await writer.drain()
            i += 1
            await asyncio.sleep(1)
    if mode_kind == "endless-chunked":
        await send(writer, head("200 OK", JSON + [("Transfer-Encoding", "chunked")]))
        first = b'{"success":true,"desc":"'
        await send(writer, b"%x\r\n%s\r\n" % (len(first), first))
        while True:
            await asyncio.sleep(0.1)
            await send(writer, b"8\r\nwaiting \r\n")
    raise AssertionError(mode)


async def serve(reader, writer):
    stats["connections"] += 1
    try:
        while True:
            request = await read_request(reader)
            if request is None:
                break
            if not await answer(reader, writer, *request):
                break
    except (ConnectionError, asyncio.IncompleteReadError, OSError):
        pass
    finally:
        try:
            writer.close()
        except Exception:  # noqa: BLE001 — the peer may be gone already
            pass


def summary():
    return ("hostile_supplier mode={} requests={requests} token_calls={token_calls} "
            "image_gets={image_gets} bytes_sent={bytes_sent} connections={connections}"
            .format(mode, **stats))


async def main():
    global mode, base, log_file
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", required=True, choices=MODES)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", help="append one JSON line per request to this file")
    args = parser.parse_args()
    mode = args.mode
    if args.log:
        log_file = open(args.log, "a", encoding="utf-8")
    server = await asyncio.start_server(serve, "127.0.0.1", args.port, limit=1 << 20,
                                        backlog=512)
    port = server.sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    build_big()
    print(f"listening {base}", flush=True)
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    stop = loop.create_future()

    def wait_for_signal():
        # sigwaitinfo tells who sent the signal (a supplier killed from outside says by whom).
        info = signal.sigwaitinfo({signal.SIGTERM, signal.SIGINT})
        try:
            with open(f"/proc/{info.si_pid}/cmdline", "rb") as f:
                sender = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()[:200]
        except OSError:
            sender = "?"
        who = f"{signal.Signals(info.si_signo).name} from pid {info.si_pid} ({sender})"
        loop.call_soon_threadsafe(lambda: stop.done() or stop.set_result(who))

    threading.Thread(target=wait_for_signal, daemon=True).start()
    who = await stop
    print(f"{summary()} stopped_by={who} after={time.monotonic() - started:.1f}s",
          file=sys.stderr, flush=True)
    if log_file:
        log_file.close()
    sys.stdout.flush()
    # Hanging answers are tasks that never end: leave without waiting for them.
    os._exit(0)


if __name__ == "__main__":
    # Blocked here, before any thread starts, so that only sigwaitinfo receives them.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    asyncio.run(main())
