#!/usr/bin/env python3
"""Writes the seed corpus of the `judge` target (fuzz/corpus/judge/seed-*) from the example
results of schemas/examples/. The input layout is described in src/fuzzing.rs. Run from anywhere:
    python3 fuzz/seeds.py
"""
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus", "judge")
IDS = re.findall(r'^id = "([^"]+)"', open(os.path.join(ROOT, "schemas", "interfaces.toml")).read(), re.M)

# Byte 1: status index (low nibble), Content-Type index (high nibble); see src/fuzzing.rs.
JSON_200 = 0x00
HTML_502 = (4 << 4) | 15
# Byte 2 flags.
EXPECT_REFUSAL, VARIANT = 1, 1 << 5


def example(interface):
    with open(os.path.join(ROOT, "schemas", "examples", interface + ".json"), encoding="utf-8") as f:
        return json.load(f)


def envelope(result, success=True, desc=""):
    return json.dumps({"success": success, "desc": desc, "result": result}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def seed(name, interface, body, status=JSON_200, flags=0, preset=0, params=b"", date=b""):
    header = bytes([IDS.index(interface), status, flags, preset, len(params), len(date)])
    with open(os.path.join(OUT, "seed-" + name), "wb") as f:
        f.write(header + params + date + body)


seed("token", "token", envelope(example("token")), date=b"Sun, 01 Jun 2025 13:30:00 GMT")
seed("pools", "pools", envelope(example("pools")))
seed("skus", "skus", envelope(example("skus")), preset=1)
seed("detail", "detail", envelope(example("detail")), preset=2)
seed("prices", "prices", envelope(example("prices")), preset=1)
seed("prices-jd", "prices", envelope([
    {"sku": "100012345", "price": 4599.00, "mall_price": 4999.00},
    {"sku": "100012346", "price": 6399.00, "mall_price": 6299.00},
]), flags=VARIANT, preset=3)
seed("stocks", "stocks", envelope(example("stocks")), preset=3)
seed("images", "images", envelope(example("images")), preset=3)
seed("shelf", "shelf_states", envelope(example("shelf_states")), preset=1)
seed("counties", "counties", envelope(example("counties")), preset=6)
seed("submit", "submit", envelope(example("submit")), preset=5)
seed("select", "select", envelope(example("select")), preset=5)
seed("track", "track", envelope(example("track")), preset=5)
seed("new-skus", "new_skus", envelope(example("new_skus")), preset=4)
seed("group-buys", "group_buys", envelope(example("group_buys")), preset=1,
     params=b'{"sku":"100012345"}')
seed("reconcile", "reconcile", envelope(example("reconcile")))
seed("expired", "pools", envelope(None, success=False, desc="token_expired"), flags=EXPECT_REFUSAL)
seed("html-502", "prices",
     b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
     b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n",
     status=HTML_502, preset=1)
seed("deep", "detail", b'{"success":true,"desc":"","result":' + b"[" * 70 + b"]" * 70 + b"}", preset=2)
seed("deep-ok", "skus", b'{"success":true,"desc":"","result":' + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}",
     preset=1)
