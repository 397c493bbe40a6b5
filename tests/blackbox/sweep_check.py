#!/usr/bin/env python3
"""Checks the folders `mallcheck sweep` wrote against jd_supplier.py (used by run.sh).

The expectation is derived from the supplier's own code, never from the harness: the supplier's
catalogue and answers are built in this process (``jd_supplier.Supplier``, no server) and judged
here by the standard's words for the SKU's data:

  * DET-COMPLETE          a mandatory field of the detail (2.5) is empty;
  * PRC-*                 the prices answer (2.9) has no agreement or market price (``mall_price``
                          in this profile) for the SKU: any PRC- requirement may name it;
  * PRC-NOT-ABOVE-MARKET  agreement price > market price, as exact decimals;
  * IMG-BATCH             the images answer (2.7) has no image for the SKU;
  * GEN-NO-NEWLINE        ``newline-in-body``: every answer, the SKU's detail too, holds line breaks.

Commands (each exits 1 with one line per broken expectation, 0 when all hold):

  sweep_check.py case DIR RC [FAULT...]        one full sweep of a supplier with these faults
  sweep_check.py same FULL RC_FULL OTHER RC    OTHER (merged or resumed) equals the full sweep
  sweep_check.py shares FULL SHARE...          the shares' SKUs: disjoint, together the full sweep's
  sweep_check.py stopped DIR RC N              a session stopped by --max-skus N

Standard library only.
"""
import csv
import importlib.util
import json
import os
import sys
from decimal import Decimal

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
MANDATORY = ["sku", "url", "model", "image_path", "state", "brand_name", "name", "unit", "category",
             "service", "introduction", "param", "is_energy_saving", "is_environmental", "is_imported"]
MARKET = "mall_price"  # profiles/jd-style: the market price's wire name
PROBLEMS = []


def problem(text):
    PROBLEMS.append(text)


def supplier_module():
    spec = importlib.util.spec_from_file_location("jd_supplier", os.path.join(HERE, "jd_supplier.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def expectation(faults):
    """(pool of every SKU, {sku: requirement prefixes any one of which must name it})."""
    jd = supplier_module()
    sup = jd.Supplier("http://127.0.0.1:1", "jd-user", "jd-secret", 5.0, faults)
    pools = {sku: it["pool"] for sku, it in sup.skus.items()}
    broken = {}

    def breaks(sku, requirement):
        broken.setdefault(sku, set()).add(requirement)

    for sku in sorted(sup.skus):
        detail = sup.api_detail({"sku": sku})
        for field in MANDATORY:
            if detail.get(field) in (None, ""):
                breaks(sku, "DET-COMPLETE")
        price = sup.api_prices({"sku": sku})
        row = price[0] if len(price) == 1 else {}
        if not isinstance(row.get("price"), Decimal) or not isinstance(row.get(MARKET), Decimal):
            breaks(sku, "PRC-")
        elif row["price"] > row[MARKET]:
            breaks(sku, "PRC-NOT-ABOVE-MARKET")
        images = sup.api_images({"sku": sku})
        if len(images) != 1 or not images[0].get("images"):
            breaks(sku, "IMG-BATCH")
        if "newline-in-body" in sup.faults:
            breaks(sku, "GEN-NO-NEWLINE")
    return pools, broken


def read_dir(d):
    """(sku lines by SKU, answer lines, sweep.json, unsellable.csv bytes)."""
    skus, answers = {}, []
    path = os.path.join(d, "sweep.jsonl")
    if not os.path.exists(path):
        problem(f"{d}: no sweep.jsonl")
        return {}, [], {}, b""
    with open(path, encoding="utf-8") as f:
        for n, text in enumerate(f, 1):
            try:
                line = json.loads(text)
            except ValueError:
                problem(f"{path}:{n}: not JSON")
                continue
            if line.get("kind") == "sku":
                if line["sku"] in skus:
                    problem(f"{path}:{n}: SKU {line['sku']} has a second line")
                skus[line["sku"]] = line
            else:
                answers.append(line)
    try:
        with open(os.path.join(d, "sweep.json"), encoding="utf-8") as f:
            summary = json.load(f)
    except (OSError, ValueError) as e:
        problem(f"{d}: sweep.json unreadable: {e}")
        summary = {}
    try:
        with open(os.path.join(d, "unsellable.csv"), "rb") as f:
            csv_bytes = f.read()
    except OSError as e:
        problem(f"{d}: unsellable.csv unreadable: {e}")
        csv_bytes = b""
    return skus, answers, summary, csv_bytes


def requirements_of(line):
    return {r.get("requirement", "") for r in line.get("reasons", [])}


def names_it(requirements, prefix):
    return any(r == prefix or (prefix.endswith("-") and r.startswith(prefix)) for r in requirements)


def check_case(d, rc, faults):
    pools, broken = expectation(faults)
    skus, answers, summary, csv_bytes = read_dir(d)
    # every SKU judged, once, in its pool; the expected ones unsellable with their reason
    for sku in sorted(set(pools) - set(skus)):
        problem(f"SKU {sku} (pool {pools[sku]}) has no line in sweep.jsonl")
    for sku in sorted(set(skus) - set(pools)):
        problem(f"sweep.jsonl judges SKU {sku}, which the supplier does not have")
    for sku, line in sorted(skus.items()):
        if sku not in pools:
            continue
        if line.get("pool") != pools[sku]:
            problem(f"SKU {sku}: pool {line.get('pool')!r}, the supplier lists it in {pools[sku]}")
        want = "unsellable" if sku in broken else "sellable"
        got = line.get("status")
        if got != want:
            why = "; ".join(f"{r.get('requirement')}: {r.get('message', '')[:100]}" for r in line.get("reasons", [])[:3])
            why = why or "; ".join(line.get("not_judged", []))
            problem(f"SKU {sku}: {got}, expected {want}" + (f" ({why})" if why else ""))
        for prefix in sorted(broken.get(sku, ())):
            if not names_it(requirements_of(line), prefix):
                problem(f"SKU {sku}: no {prefix} reason (reasons: {sorted(requirements_of(line))})")
    # findings on answers of no single SKU: none unless the fault breaks every answer
    found = [(a.get("interface"), f.get("requirement")) for a in answers for f in a.get("findings", [])]
    if not broken and found:
        problem(f"findings on answers of no single SKU, none expected: {found[:5]}")
    if "newline-in-body" in faults and ("pools", "GEN-NO-NEWLINE") not in found:
        problem("newline-in-body: the pool list's GEN-NO-NEWLINE is not reported")
    # unsellable.csv: BOM, header, the unsellable SKUs sorted, each with its pool and reasons
    if not csv_bytes.startswith(b"\xef\xbb\xbf"):
        problem("unsellable.csv does not start with a UTF-8 BOM")
    rows = list(csv.reader(csv_bytes.decode("utf-8-sig", errors="replace").splitlines()))
    if not rows or rows[0] != ["sku", "pool", "name", "reasons"]:
        problem(f"unsellable.csv header: {rows[:1]}")
    rows = rows[1:]
    listed = [r[0] for r in rows if r]
    if listed != sorted(listed):
        problem("unsellable.csv is not sorted by SKU")
    if sorted(listed) != sorted(broken):
        problem(f"unsellable.csv lists {len(listed)} SKUs, expected {len(broken)}: "
                f"extra {sorted(set(listed) - set(broken))[:10]}, missing {sorted(set(broken) - set(listed))[:10]}")
    jsonl_unsellable = sorted(s for s, l in skus.items() if l.get("status") == "unsellable")
    if sorted(listed) != jsonl_unsellable:
        problem("unsellable.csv and sweep.jsonl disagree on the unsellable SKUs")
    for r in rows:
        if len(r) != 4:
            problem(f"unsellable.csv row of {len(r)} fields: {r[:1]}")
        elif r[0] in pools and (r[1] != pools[r[0]] or not all(names_it({x.split(':')[0] for x in r[3].split('; ')}, p)
                                                                  for p in broken.get(r[0], ()))):
            problem(f"unsellable.csv row {r[0]}: pool {r[1]!r} or reasons {r[3][:120]!r} wrong")
    # sweep.json: the counts of the record, complete
    counts = summary.get("skus", {})
    want_counts = {"in_scope": len(pools), "swept": len(pools), "sellable": len(pools) - len(broken),
                   "unsellable": len(broken), "not_judged": 0}
    if counts != want_counts:
        problem(f"sweep.json skus {counts}, expected {want_counts}")
    if summary.get("complete") is not True:
        problem(f"sweep.json complete = {summary.get('complete')!r}")
    per_kind = {}
    for line in skus.values():
        for kind in {(r.get("requirement"), r.get("check")) for r in line.get("reasons", [])}:
            per_kind[kind] = per_kind.get(kind, 0) + 1
    got_kinds = {(x["requirement"], x["check"]): x["count"] for x in summary.get("defects", [])}
    if got_kinds != per_kind:
        problem(f"sweep.json defects {got_kinds} do not count the SKUs of sweep.jsonl {per_kind}")
    # exit code: 1 when something is unsellable, 0 otherwise
    want_rc = 1 if broken else 0
    if rc != want_rc:
        problem(f"exit code {rc}, expected {want_rc}")
    return len(pools), len(broken)


def comparable(d):
    skus, answers, summary, csv_bytes = read_dir(d)
    keep = {k: summary.get(k) for k in ("skus", "defects", "answer_defects", "not_judged", "complete")}
    return skus, keep, csv_bytes


def check_same(full, rc_full, other, rc_other):
    a, b = comparable(full), comparable(other)
    if not a[0]:
        problem(f"{full}: no SKU lines")
    for sku in sorted(set(a[0]) | set(b[0])):
        if a[0].get(sku) != b[0].get(sku):
            problem(f"SKU {sku}: {json.dumps(a[0].get(sku), ensure_ascii=False)[:200]} in {full}, "
                    f"{json.dumps(b[0].get(sku), ensure_ascii=False)[:200]} in {other}")
    for key in a[1]:
        if a[1][key] != b[1][key]:
            problem(f"sweep.json {key}: {a[1][key]} in {full}, {b[1][key]} in {other}")
    if a[2] != b[2]:
        problem(f"unsellable.csv differs between {full} and {other}")
    if rc_full != rc_other:
        problem(f"exit code {rc_other} for {other}, {rc_full} for the full sweep")


def check_shares(full, shares):
    whole = set(read_dir(full)[0])
    seen = {}
    for d in shares:
        for sku in read_dir(d)[0]:
            if sku in seen:
                problem(f"SKU {sku} swept by two shares: {seen[sku]} and {d}")
            seen[sku] = d
        if not read_dir(d)[0]:
            problem(f"share {d} swept no SKU")
    if set(seen) != whole:
        problem(f"the shares swept {len(seen)} SKUs, the full sweep {len(whole)}")


def check_stopped(d, rc, n):
    skus, _, summary, _ = read_dir(d)
    if len(skus) != n:
        problem(f"{d}: {len(skus)} SKU lines after --max-skus {n}")
    if summary.get("complete") is not False:
        problem(f"{d}: complete = {summary.get('complete')!r} after --max-skus {n}")
    unsellable = sum(1 for l in skus.values() if l.get("status") == "unsellable")
    want = 1 if unsellable else 4
    if rc != want:
        problem(f"{d}: exit code {rc} after --max-skus {n}, expected {want} ({unsellable} unsellable)")


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "case" and len(args) >= 2:
        total, broken = check_case(args[0], int(args[1]), args[2:])
        note = f"{total} SKUs, {broken} expected unsellable"
    elif cmd == "same" and len(args) == 4:
        check_same(args[0], int(args[1]), args[2], int(args[3]))
        note = f"{os.path.basename(args[2])} = {os.path.basename(args[0])}"
    elif cmd == "shares" and len(args) >= 2:
        check_shares(args[0], args[1:])
        note = f"{len(args) - 1} shares"
    elif cmd == "stopped" and len(args) == 3:
        check_stopped(args[0], int(args[1]), int(args[2]))
        note = f"stopped after {args[2]}"
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in PROBLEMS[:40]:
        print("  " + p)
    if len(PROBLEMS) > 40:
        print(f"  … and {len(PROBLEMS) - 40} more")
    print(("FAIL " if PROBLEMS else "ok   ") + note)
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
