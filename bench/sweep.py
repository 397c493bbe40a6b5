#!/usr/bin/env python3
"""The sweep a user might write instead of `mallcheck sweep`: plain Python (stdlib only), a
thread pool of 8, the same walk (pools -> SKU lists -> detail per SKU, prices / shelf states /
images in batches of 100) and the same data checks, written as a script would: mandatory detail
fields present and non-empty (URLs absolute, flags 0/1), the detail of the SKU asked for, the
agreement price not above the market price (exact decimals, at most two places, positive), and
every pooled SKU with a detail, a price, a shelf state and images; an on-shelf SKU sellable.
No schema, no envelope rules, no image fetches (`mallcheck sweep --images none` is the fair
comparison), keep-alive connections per thread.

    bench/sweep.py http://127.0.0.1:PORT [--user tjmall --password tjmall-test] [--threads 8]

Prints one JSON line: SKUs, unsellable, seconds, SKUs/s.
"""
import argparse
import hashlib
import http.client
import json
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

PATHS = {
    "token": "/api/auth2/access_token",
    "pools": "/api/product/get_pools",
    "skus": "/api/product/skus",
    "detail": "/api/product/detail",
    "shelf_states": "/api/product/shelf_states",
    "images": "/api/product/images",
    "prices": "/api/product/prices",
}
TEXT = ["sku", "model", "brand_name", "name", "unit", "category", "service", "introduction", "param"]
URLS = ["url", "image_path"]
FLAGS = ["is_energy_saving", "is_environmental", "is_imported"]

local = threading.local()


def post(base, path, params):
    url = urllib.parse.urlsplit(base)
    conn = getattr(local, "conn", None)
    if conn is None:
        conn = local.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=20)
    body = urllib.parse.urlencode(params)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for attempt in range(2):
        try:
            conn.request("POST", path, body, headers)
            return json.loads(conn.getresponse().read())
        except (http.client.HTTPException, OSError):
            conn.close()
            conn = local.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=20)
    return None


def money(value):
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    return d if d > 0 and -d.as_tuple().exponent <= 2 else None


def detail_problems(sku, result):
    if not isinstance(result, dict):
        return ["DET-COMPLETE"]
    problems = []
    for f in TEXT:
        v = result.get(f)
        if v is None or (isinstance(v, str) and not v.strip()):
            problems.append("DET-COMPLETE")
    for f in URLS:
        v = result.get(f)
        if not isinstance(v, str) or not v.lower().startswith(("http://", "https://")):
            problems.append("DET-COMPLETE")
    for f in FLAGS:
        if str(result.get(f)) not in ("0", "1", "True", "False"):
            problems.append("DET-COMPLETE")
    if str(result.get("sku")) != sku:
        problems.append("DET-SAME-SKU")
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--user", default="tjmall")
    parser.add_argument("--password", default="tjmall-test")
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    base = args.base.rstrip("/")
    started = time.monotonic()
    md5pw = hashlib.md5(args.password.encode()).hexdigest()
    stamp = datetime.now(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
    sign = hashlib.md5((args.user + md5pw + stamp + md5pw).encode()).hexdigest()
    answer = post(base, PATHS["token"], {"username": args.user, "password": md5pw, "timestamp": stamp, "sign": sign})
    token = answer["result"]["access_token"]
    pools = [p["id"] for p in post(base, PATHS["pools"], {"token": token})["result"]]
    pooled = {}
    for pool in pools:
        for sku in post(base, PATHS["skus"], {"token": token, "catalog_id": pool})["result"]:
            pooled.setdefault(sku, pool)
    skus = sorted(pooled)
    batches = [skus[i:i + 100] for i in range(0, len(skus), 100)]

    def sweep_batch(batch):
        joined = ",".join(batch)
        prices = post(base, PATHS["prices"], {"token": token, "sku": joined}) or {}
        shelf = post(base, PATHS["shelf_states"], {"token": token, "sku": joined}) or {}
        images = post(base, PATHS["images"], {"token": token, "sku": joined}) or {}
        price = {p.get("sku"): p for p in prices.get("result") or []}
        state = {s.get("sku"): s.get("state") for s in shelf.get("result") or []}
        image = {i.get("sku"): len(i.get("images") or []) for i in images.get("result") or []}
        unsellable = 0
        for sku in batch:
            problems = []
            detail = post(base, PATHS["detail"], {"token": token, "sku": sku})
            ok = detail is not None and detail.get("success") is True
            problems += detail_problems(sku, detail.get("result")) if ok else ["X-SKU-HAS-DATA"]
            p = price.get(sku)
            pair = p and (money(p.get("price")), money(p.get("market_price")))
            if not pair or None in pair:
                problems.append("PRC-MONEY")
            elif pair[0] > pair[1]:
                problems.append("PRC-NOT-ABOVE-MARKET")
            if sku not in state or not image.get(sku):
                problems.append("X-SKU-HAS-DATA")
            if state.get(sku) == 1 and problems:
                problems.append("X-ONSHELF-SELLABLE")
            unsellable += bool(problems)
        return len(batch), unsellable

    with ThreadPoolExecutor(args.threads) as pool:
        done = list(pool.map(sweep_batch, batches))
    seconds = time.monotonic() - started
    total = sum(n for n, _ in done)
    print(json.dumps({"skus": total, "unsellable": sum(u for _, u in done),
                      "seconds": round(seconds, 2), "skus_per_second": round(total / seconds, 1)}))


if __name__ == "__main__":
    main()
