#!/usr/bin/env python3
"""Self-test of jd_supplier.py against the rules of PROFILE.md (JD-style variant).

Starts the supplier (clean, then once per fault) on an ephemeral port and checks it with a small
client. Standard library only. Usage: python3 selftest.py [--ship-after 1]
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
SUPPLIER = os.path.join(HERE, "jd_supplier.py")
CST = timezone(timedelta(hours=8))
USER, PASSWORD = "jd-user", "jd-secret"
FAILS = []


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def check(cond, what):
    print(("  ok   " if cond else "  FAIL ") + what)
    if not cond:
        FAILS.append(what)
    return cond


class Client:
    def __init__(self, base):
        self.base = base
        self.token = None

    def raw(self, path, params=None, method="POST"):
        data = urllib.parse.urlencode(params or {}).encode() if method == "POST" else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def call(self, path, token=True, **params):
        if token is True:
            params["token"] = self.token
        elif token:
            params["token"] = token
        params = {k: v for k, v in params.items() if v is not None}
        status, _, body = self.raw(path, params)
        return status, body, json.loads(body, parse_float=Decimal)

    def get_token(self, user=USER, password=PASSWORD, skew=0):
        ts = (datetime.now(CST) + timedelta(seconds=skew)).strftime("%Y-%m-%d %H:%M:%S")
        pw = md5(password)
        _, _, env = self.call("/api/auth2/access_token", token=False, username=user, password=pw, timestamp=ts,
                              sign=md5(user + pw + ts + pw))
        return env


def start(faults, ship_after):
    cmd = [sys.executable, SUPPLIER, "--port", "0", "--ship-after", str(ship_after)]
    for f in faults:
        cmd += ["--fault", f]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    base = p.stdout.readline().strip()
    return p, base


def first_orderable(c, pool_skus):
    for s in pool_skus:
        env = c.call("/api/product/getDetail", sku=s)[2]
        st = c.call("/api/product/stocks", sku=s, area_id=c.county)[2]
        if env["result"]["state"] == 1 and st["result"][0]["num"] >= 3:
            price = c.call("/api/price/getSellPrice", sku=s)[2]["result"][0]["price"]
            return s, price, st["result"][0]["num"]
    raise RuntimeError("no orderable sku")


def order_params(c, po, sku, num, price, freight=Decimal("10.00"), total=None, payment=2):
    if total is None:
        total = price * num + freight
    return dict(po_order=po, sku=json.dumps([{"sku": sku, "num": num, "price": str(price)}]), name="张三",
                province=c.prov, city=c.city, county=c.county, address="天津市和平区南京路100号", mobile="13800138000",
                invoice_type=1, invoice_title="天津市某某局", invoice_org_code="12120000MB0000000X", payment=payment,
                order_price=str(total), freight=str(freight))


def setup_areas(c):
    prov = c.call("/api/area/provinces")[2]["result"]
    c.prov = prov["天津"]
    cities = c.call("/api/area/cities", id=c.prov)[2]["result"]
    c.city = cities["天津市"]
    counties = c.call("/api/area/counties", id=c.city)[2]["result"]
    c.county = counties["和平区"]
    return prov, cities, counties


def clean_run(ship_after):
    print("== clean supplier")
    p, base = start([], ship_after)
    try:
        c = Client(base)
        check(base.startswith("http://127.0.0.1:"), f"first stdout line is the base URL ({base})")
        check(c.raw("/api/admin/reset")[0] == 404, "unknown path answers 404")
        check(c.raw("/api/product/detail", {"sku": "1"})[0] == 404, "default-profile detail path is not served")
        # token
        env = c.get_token()
        check(env["success"] is True and env["result"]["access_token"], "token issued for valid credentials")
        tok, exp = env["result"]["access_token"], env["result"]["expires_at"]
        left = datetime.strptime(exp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST) - datetime.now(CST)
        check(abs(left.total_seconds() - 36 * 3600) < 60, f"expires_at about 36 h ahead ({exp})")
        time.sleep(1.1)
        env2 = c.get_token()
        check(env2["result"]["access_token"] == tok and env2["result"]["expires_at"] == exp,
              "same token with the same expiry handed out again")
        check(c.get_token(password="wrong")["success"] is False, "wrong password refused")
        check(c.get_token(skew=-900)["success"] is False, "timestamp 15 min off refused")
        ts = datetime.now(CST).strftime("%Y-%m-%d %H:%M:%S")
        pw = md5(PASSWORD)
        bad = c.call("/api/auth2/access_token", token=False, username=USER, password=pw, timestamp=ts, sign="0" * 32)[2]
        check(bad["success"] is False, "bad sign refused")
        c.token = tok
        # token checks on every interface
        from jd_supplier import ROUTES
        all_ok = True
        for path, name in ROUTES.items():
            if name == "token":
                continue
            e1 = c.call(path, token=False)[2]
            e2 = c.call(path, token="nope")[2]
            if e1["success"] or e2["success"] or "token_expired" not in e2["desc"] or e1["result"] is not None:
                all_ok = False
                print("     token check failed on", path)
        check(all_ok, "every non-token interface refuses missing/unknown token with token_expired")
        st, _, e = c.raw("/api/product/get_pools", method="GET")
        check(st == 405, "GET on an API path is refused (405)")
        # catalogue
        status, body, env = c.call("/api/product/get_pools")
        check(b"\n" not in body and b"\r" not in body, "no line breaks in body")
        pools = [x["id"] for x in env["result"]]
        check(len(pools) == 3 and all(x.startswith("A01") for x in pools), f"3 pools {pools}")
        all_skus = []
        pool_of = {}
        for pid in pools:
            skus = c.call("/api/product/skus", catalog_id=pid)[2]["result"]
            all_skus += skus
            for s in skus:
                pool_of[s] = pid
        check(len(all_skus) == 60 and len(set(all_skus)) == 60 and all(len(s) == 7 and s[0] == "8" for s in all_skus),
              "60 unique 7-digit SKUs starting with 8")
        required = ["sku", "url", "model", "image_path", "state", "brand_name", "name", "unit", "category", "service",
                    "introduction", "param", "is_energy_saving", "is_environmental", "is_imported"]
        complete, same, off = True, True, 0
        for s in all_skus:
            d = c.call("/api/product/getDetail", sku=s)[2]["result"]
            same &= d["sku"] == s
            off += d["state"] == 0
            for f in required:
                if d.get(f) in (None, ""):
                    complete = False
                    print("     missing", f, "on", s)
            complete &= d["url"].startswith("http://") and d["image_path"].startswith("http://")
        check(complete and same, "every detail complete and of the SKU asked")
        check(off == 4, f"{off} SKUs off shelf")
        batch = ",".join(all_skus[:50] + all_skus[:3])
        sh = c.call("/api/product/shelf_states", sku=batch)[2]["result"]
        check([x["sku"] for x in sh] == all_skus[:50], "shelf batch answers each SKU once")
        check(c.call("/api/product/shelf_states", sku=",".join(str(8000000 + i) for i in range(101)))[2]["success"] is False,
              "batch > 100 refused")
        pr = c.call("/api/price/getSellPrice", sku=",".join(all_skus))[2]["result"]
        check(all("mall_price" in x and "market_price" not in x and x["price"] <= x["mall_price"] for x in pr),
              "prices: price <= mall_price for all 60")
        check(all(x["price"] == x["price"].quantize(Decimal("0.01")) for x in pr), "prices have <= 2 decimals")
        img = c.call("/api/product/images", sku=all_skus[0])[2]["result"][0]["images"]
        st, hdr, body = c.raw(urllib.parse.urlsplit(img[0]["path"]).path, method="GET")
        check(st == 200 and hdr["Content-Type"] == "image/jpeg" and body[:2] == b"\xff\xd8" and img[0]["order"] == 0,
              "image URL serves a JPEG")
        # areas
        prov, cities, counties = setup_areas(c)
        tj16 = ["和平区", "河东区", "河西区", "南开区", "河北区", "红桥区", "东丽区", "西青区", "津南区", "北辰区", "武清区",
                "宝坻区", "滨海新区", "宁河区", "静海区", "蓟州区"]
        check(prov["天津"] == "2" and all(k in counties for k in tj16) and len(counties) == 16,
              "Tianjin -> 天津市 -> 16 districts")
        check(not any(v.startswith("12") and len(v) == 6 for v in counties.values()), "area ids are not GB/T 2260")
        # stocks and an order
        sku, price, stock0 = first_orderable(c, all_skus)
        env = c.call("/api/order/submitOrder", **order_params(c, "PO-T-1", sku, 2, price))[2]
        check(env["success"] and env["result"]["po_order"] == "PO-T-1", f"pre-order accepted: {env['desc']}")
        oid = env["result"]["order_id"]
        check(env["result"]["order_price"] == price * 2 + 10, "submit answer order_price = sum + freight")
        stock1 = c.call("/api/product/stocks", sku=sku, area_id=c.county)[2]["result"][0]["num"]
        check(stock1 == stock0 - 2, f"stock locked {stock0} -> {stock1}")
        again = c.call("/api/order/submitOrder", **order_params(c, "PO-T-1", sku, 2, price))[2]
        check(again["success"] and again["result"]["order_id"] == oid, "same po_order -> same order_id")
        stock1b = c.call("/api/product/stocks", sku=sku, area_id=c.county)[2]["result"][0]["num"]
        check(stock1b == stock1, "resubmit locked nothing more")
        bad = c.call("/api/order/submitOrder", **order_params(c, "PO-T-2", sku, 1, price - Decimal("1")))[2]
        check(not bad["success"], f"wrong line price refused ({bad['desc']})")
        bad = c.call("/api/order/submitOrder", **order_params(c, "PO-T-3", sku, 1, price, total=price + Decimal("10.01")))[2]
        check(not bad["success"], f"wrong total refused ({bad['desc']})")
        bad = c.call("/api/order/submitOrder", **order_params(c, "PO-T-4", sku, stock1 + 1, price))[2]
        check(not bad["success"], f"more than stock refused ({bad['desc']})")
        for name in ("confirm", "cancel", "selectJdOrder", "track", "einvoice"):
            check(not c.call("/api/order/" + name, order_id="999")[2]["success"], f"{name}: unknown order refused")
        sel = c.call("/api/order/selectJdOrder", order_id=oid)[2]["result"]
        check(sel["state"] == 0 and sel["submit_state"] == 0 and sel["po_order"] == "PO-T-1", "select: new order")
        # cancel path
        e2 = c.call("/api/order/submitOrder", **order_params(c, "PO-T-5", sku, 1, price))[2]["result"]
        check(c.call("/api/order/cancel", order_id=e2["order_id"])[2]["result"] is True, "cancel pre-order")
        stock2 = c.call("/api/product/stocks", sku=sku, area_id=c.county)[2]["result"][0]["num"]
        check(stock2 == stock1, "cancel gives stock back")
        check(not c.call("/api/order/confirm", order_id=e2["order_id"])[2]["success"], "confirm after cancel refused")
        check(c.call("/api/order/selectJdOrder", order_id=e2["order_id"])[2]["result"]["state"] == -2, "state -2")
        # confirm and ship by itself
        t_confirm = time.time()
        check(c.call("/api/order/confirm", order_id=oid)[2]["result"] is True, "confirm")
        check(not c.call("/api/order/cancel", order_id=oid)[2]["success"], "cancel after confirm refused")
        sel = c.call("/api/order/selectJdOrder", order_id=oid)[2]["result"]
        tr = c.call("/api/order/track", order_id=oid)[2]["result"]
        check(sel["state"] == 0 and sel["submit_state"] == 1 and tr["waybill"] == [], "confirmed, not shipped yet")
        ship_seen = deliver_seen = None
        while time.time() - t_confirm < 4 * ship_after + 3:
            sel = c.call("/api/order/selectJdOrder", order_id=oid)[2]["result"]
            if sel["state"] == 5 and ship_seen is None:
                ship_seen = time.time() - t_confirm
                tr = c.call("/api/order/track", order_id=oid)[2]["result"]
                check(len(tr["waybill"]) == 1 and tr["waybill"][0]["shipment_items"][0]["sku"] == sku, "waybill when shipped")
            if sel["state"] == 1:
                deliver_seen = time.time() - t_confirm
                check(sel["deliver_state"] == 1, "deliver_state 1")
                break
            time.sleep(0.2)
        check(ship_seen is not None and abs(ship_seen - ship_after) < 0.8, f"shipped after ~{ship_seen}s")
        check(deliver_seen is not None and abs(deliver_seen - 2 * ship_after) < 0.8, f"delivered after ~{deliver_seen}s")
        tr = c.call("/api/order/track", order_id=oid)[2]["result"]
        check(all(k in tr["track"][0] for k in ("content", "operate_time", "operator")) and len(tr["track"]) == 4,
              "track entries")
        # optional interfaces
        asl = c.call("/api/order/after_sale", order_id=oid, skus=json.dumps([{"sku": sku, "num": 1}]), type=4)[2]
        check(asl["success"] and asl["result"]["order_id"] == oid, f"after_sale on delivered order {asl['desc']}")
        today = datetime.now(CST).strftime("%Y-%m-%d")
        rec = c.call("/api/order/reconcile", bdate=today, edate=today)[2]["result"]
        check(rec["count"] == len(rec["orders"]) and rec["amount"] == sum(o["order_price"] for o in rec["orders"])
              and oid in [o["order_id"] for o in rec["orders"]], "reconcile")
        inv = c.call("/api/order/einvoice", order_id=oid)[2]["result"]
        st, hdr, body = c.raw(urllib.parse.urlsplit(inv[0]["url"]).path, method="GET")
        check(st == 200 and body.startswith(b"%PDF"), "einvoice URL serves a PDF")
        e3 = c.call("/api/order/submitOrder", **order_params(c, "PO-T-6", sku, 1, price, payment=5))[2]["result"]
        c.call("/api/order/confirm", order_id=e3["order_id"])
        q = c.call("/api/order/credit_payment_query", order_id=e3["order_id"])[2]["result"]
        check(q["pay_state"] == 0, "credit: unpaid")
        cp = c.call("/api/order/credit_payment", order_id=e3["order_id"], pay_amount=str(e3["order_price"]),
                    pay_time=datetime.now(CST).strftime("%Y-%m-%d %H:%M:%S"), transfer_no="TR001")[2]
        check(cp["result"] is True, "credit payment recorded")
        time.sleep(1.2)
        q = c.call("/api/order/credit_payment_query", order_id=e3["order_id"])[2]["result"]
        check(q["pay_state"] == 2, "credit payment verified")
        r = c.call("/api/product/ratings", sku=",".join(all_skus[:10]))[2]["result"]
        check(all(x["good"] + x["medium"] + x["bad"] == 1 and 0 <= x["average"] <= 5 for x in r), "ratings")
        a = c.call("/api/product/accessories", sku=",".join(all_skus[:5]))[2]["result"]
        check(len(a) == 5 and all(i["kind"] in (1, 2) for x in a for i in x["items"]), "accessories")
        w = c.call("/api/product/warranty", sku=all_skus[0], area_id=c.county)[2]["result"]
        check(w[0]["services"] and w[0]["services"][0]["years"] == 1, "warranty")
        links = c.call("/api/product/accessory_links")[2]["result"]
        check(len(links) == 60, "accessory_links without sku = all")
        prices = {x["sku"]: x["price"] for x in pr}
        g = c.call("/api/promo/group_buys")[2]["result"]
        sp = c.call("/api/promo/specials")[2]["result"]
        check(g and sp and all(x["price"] < prices[x["sku"]] for x in g + sp), "offers below agreement price")
        tr_ = c.call("/api/promo/tiered_rates", sku=all_skus[0])[2]["result"]
        check(len(tr_) == 1 and all(0 < t["rate"] <= 1 for t in tr_[0]["tiers"]), "tiered rates")
        new = c.call("/api/product/new_skus")[2]["result"]
        check(len(new) == 4 and all(x["sku"] in pool_of and pool_of[x["sku"]] == x["catalog_id"] for x in new),
              f"new_skus last 7 days: {len(new)}")
        wide = c.call("/api/product/new_skus", start_time="2000-01-01 00:00:00",
                      end_time=datetime.now(CST).strftime("%Y-%m-%d %H:%M:%S"))[2]["result"]
        none = c.call("/api/product/new_skus", start_time="2001-01-01 00:00:00", end_time="2001-12-31 23:59:59")[2]["result"]
        check(len(wide) == 60 and none == [], "new_skus honours the window")
        ch = c.call("/api/product/changed_skus")[2]["result"]
        ch_all = c.call("/api/product/changed_skus", start_time="2000-01-01 00:00:00")[2]["result"]
        check(len(ch) == 11 and len(ch_all) == 13 and {x["change_type"] for x in ch} == {"price", "state", "detail", "image"},
              "changed_skus honours the window")
    finally:
        p.terminate()
        p.wait()


def fault_run(fault, ship_after):
    print("== fault", fault)
    p, base = start([fault], ship_after)
    try:
        c = Client(base)
        c.token = c.get_token()["result"]["access_token"]
        setup_areas(c)
        pools = [x["id"] for x in c.call("/api/product/get_pools")[2]["result"]]
        skus = []
        for pid in pools:
            skus += c.call("/api/product/skus", catalog_id=pid)[2]["result"]
        if fault == "price-above-market":
            pr = c.call("/api/price/getSellPrice", sku=",".join(skus))[2]["result"]
            check(sum(x["price"] > x["mall_price"] for x in pr) == 1, "exactly one price above mall_price")
            return
        if fault == "market-price-renamed":
            pr = c.call("/api/price/getSellPrice", sku=skus[0])[2]["result"][0]
            check("market_price" in pr and "mall_price" not in pr, "market price named market_price")
            return
        if fault == "missing-brand":
            bad = [s for s in skus if c.call("/api/product/getDetail", sku=s)[2]["result"]["brand_name"] == ""]
            st = c.call("/api/product/shelf_states", sku=",".join(bad))[2]["result"]
            check(len(bad) == 1 and st[0]["state"] == 1, "one on-shelf SKU without brand")
            return
        if fault == "newline-in-body":
            body = c.call("/api/product/get_pools")[1]
            check(b"\n" in body, "body has line breaks")
            return
        if fault == "no-token-check":
            e1 = c.call("/api/product/get_pools", token=False)[2]
            e2 = c.call("/api/product/get_pools", token="nope")[2]
            check(e1["success"] is True and e2["success"] is False, "no token accepted, unknown token still refused")
            return
        sku, price, stock0 = first_orderable(c, skus)
        env = c.call("/api/order/submitOrder", **order_params(c, "PO-F-1", sku, 1, price))[2]
        oid = env["result"]["order_id"]
        if fault == "wrong-order-total":
            check(env["result"]["order_price"] == price + 10 + Decimal("0.01"), "order_price one cent too much")
            sel = c.call("/api/order/selectJdOrder", order_id=oid)[2]["result"]
            check(sel["order_price"] == price + 10, "select still right")
        elif fault == "duplicate-order-on-resubmit":
            again = c.call("/api/order/submitOrder", **order_params(c, "PO-F-1", sku, 1, price))[2]
            check(again["success"] and again["result"]["order_id"] != oid, "a second order_id for the same po_order")
        elif fault == "no-stock-lock":
            n = c.call("/api/product/stocks", sku=sku, area_id=c.county)[2]["result"][0]["num"]
            check(n == stock0, "stock not locked")
        elif fault == "cancel-after-confirm":
            c.call("/api/order/confirm", order_id=oid)
            check(c.call("/api/order/cancel", order_id=oid)[2]["success"] is True, "cancel after confirm succeeds")
    finally:
        p.terminate()
        p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ship-after", type=float, default=1.0)
    args = ap.parse_args()
    sys.path.insert(0, HERE)
    from jd_supplier import FAULTS
    clean_run(args.ship_after)
    for f in FAULTS:
        fault_run(f, args.ship_after)
    print(f"{len(FAILS)} failed" if FAILS else "all checks passed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
