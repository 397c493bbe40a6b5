#!/usr/bin/env python3
"""Independent JD-style supplier of the Tianjin mall docking interfaces (test environment).

Written from the specification only (PROFILE.md, REQUIREMENTS.md and the standard's text), as a
black-box opponent for the conformance harness. It implements the default profile of PROFILE.md
with the JD-style changes:

  * paths: detail /api/product/getDetail, prices /api/price/getSellPrice,
    submit /api/order/submitOrder, select /api/order/selectJdOrder;
  * the market price is named ``mall_price`` in the prices answer;
  * the mall's order number is ``po_order`` in submit / select.

Standard library only. Start it with ``python3 jd_supplier.py --port 0``: the first line on stdout is
the base URL. ``--fault NAME`` (repeatable) switches on one misbehaviour each; see FAULTS below.
"""

import argparse
import hashlib
import json
import re
import secrets
import struct
import sys
import threading
import time
import traceback
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CST = timezone(timedelta(hours=8))
TIME_FMT = "%Y-%m-%d %H:%M:%S"
DATE_FMT = "%Y-%m-%d"
TOKEN_TTL = 36 * 3600
TIMESTAMP_SKEW = 600
MAX_BATCH = 100
CENT = Decimal("0.01")

FAULTS = {
    "price-above-market": "one SKU's agreement price is above its mall_price",
    "duplicate-order-on-resubmit": "the same po_order again creates a second order with a new order_id",
    "wrong-order-total": "the submit answer's order_price is one cent more than the sum of its lines plus freight",
    "no-token-check": "interfaces other than token accept calls without any token",
    "cancel-after-confirm": "cancelling a confirmed order succeeds",
    "no-stock-lock": "pre-orders do not lock stock",
    "market-price-renamed": "the prices answer names the market price market_price instead of mall_price",
    "missing-brand": "one on-shelf SKU's detail has an empty brand_name",
    "newline-in-body": "answers are pretty-printed JSON with line breaks",
}


# --------------------------------------------------------------------------------------------
# small helpers

def md5_hex(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def fmt_time(ts):
    return datetime.fromtimestamp(ts, CST).strftime(TIME_FMT)


def fmt_date(ts):
    return datetime.fromtimestamp(ts, CST).strftime(DATE_FMT)


def parse_time(text):
    """yyyy-MM-dd HH:mm:ss (CST) -> epoch seconds, or None."""
    try:
        return datetime.strptime(text.strip(), TIME_FMT).replace(tzinfo=CST).timestamp()
    except (ValueError, AttributeError):
        return None


def parse_date(text):
    try:
        return datetime.strptime(text.strip(), DATE_FMT).replace(tzinfo=CST).timestamp()
    except (ValueError, AttributeError):
        return None


def money(value):
    return Decimal(value).quantize(CENT)


class Refuse(Exception):
    """A business failure: answered as success false with this desc."""


def parse_money(text, field):
    if text is None or str(text).strip() == "":
        raise Refuse(f"{field} 不能为空")
    try:
        d = Decimal(str(text).strip())
    except InvalidOperation:
        raise Refuse(f"{field} 不是合法金额: {text}")
    if not d.is_finite():
        raise Refuse(f"{field} 不是合法金额: {text}")
    if d != d.quantize(CENT):
        raise Refuse(f"{field} 最多两位小数: {text}")
    return d


def parse_int(text, field, allowed=None):
    s = str(text).strip() if text is not None else ""
    if not re.fullmatch(r"-?\d+", s):
        raise Refuse(f"{field} 必须为整数: {text}")
    v = int(s)
    if allowed is not None and v not in allowed:
        raise Refuse(f"{field} 取值不合法: {text}")
    return v


# --------------------------------------------------------------------------------------------
# tiny media bodies, built once

def make_jpeg(gray=200):
    """A real 8x8 baseline greyscale JPEG of one uniform shade (DC only, Huffman with one code)."""
    dc = 8 * (gray - 128)  # DCT DC coefficient of a uniform block with quantiser 1
    cat = abs(dc).bit_length()
    extra = dc if dc >= 0 else dc + (1 << cat) - 1
    bits = "0" + (format(extra, f"0{cat}b") if cat else "") + "0"  # DC code, its bits, AC EOB code
    bits += "1" * (-len(bits) % 8)
    data = bytearray()
    for i in range(0, len(bits), 8):
        b = int(bits[i:i + 8], 2)
        data.append(b)
        if b == 0xFF:
            data.append(0x00)
    out = bytearray(b"\xff\xd8")
    out += b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00" + struct.pack(">HH", 1, 1) + b"\x00\x00"
    out += b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes([1] * 64)
    out += b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 8, 8, 1) + bytes([1, 0x11, 0])
    out += b"\xff\xc4" + struct.pack(">H", 20) + b"\x00" + bytes([1] + [0] * 15) + bytes([cat])
    out += b"\xff\xc4" + struct.pack(">H", 20) + b"\x10" + bytes([1] + [0] * 15) + b"\x00"
    out += b"\xff\xda" + struct.pack(">HB", 8, 1) + bytes([1, 0x00, 0, 63, 0])
    out += data + b"\xff\xd9"
    return bytes(out)


def make_pdf(lines):
    """A minimal valid one-page PDF showing a few ASCII lines."""
    text = "BT /F1 12 Tf 50 780 Td " + " ".join(
        "(%s) Tj 0 -18 Td" % l.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for l in lines
    ) + " ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text.encode("ascii") + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


JPEG_BODY = make_jpeg(200)


# --------------------------------------------------------------------------------------------
# catalogue data

POOLS = [
    ("A0101", "计算机设备"),
    ("A0102", "办公设备"),
    ("A0103", "办公消耗用品"),
]

# (brand, name, model, unit, agreement price, market price, weight kg, stock, category, origin)
ITEMS = {
    "A0101": [
        ("联想", "联想(Lenovo)启天M437 台式计算机 i5-10500/8G/1T+256G SSD/21.5英寸", "启天M437", "台", "4299.00", "4599.00", "8.50", 120, "670101", "中国"),
        ("联想", "联想(Lenovo)扬天M4000q 商用台式机 i3-10100/8G/512G SSD", "扬天M4000q", "台", "3199.00", "3499.00", "7.20", 86, "670101", "中国"),
        ("戴尔", "戴尔(DELL)OptiPlex 3090MT 台式电脑 i5-10505/8G/256G+1T", "OptiPlex 3090MT", "台", "4650.00", "4999.00", "7.80", 45, "670101", "中国"),
        ("清华同方", "清华同方 超越E500 台式计算机 i5-10400/8G/1T/23.8英寸", "超越E500", "台", "3899.00", "4199.00", "9.10", 60, "670101", "中国"),
        ("长城", "长城(Great Wall)世恒TD120A2 国产台式机 飞腾D2000/16G/512G", "世恒TD120A2", "台", "5680.00", "5980.00", "8.00", 30, "670101", "中国"),
        ("华为", "华为(HUAWEI)MateBook D 14 笔记本电脑 i5-1135G7/16G/512G", "MateBook D 14", "台", "4999.00", "5299.00", "1.38", 75, "670102", "中国"),
        ("联想", "联想ThinkPad E14 14英寸笔记本电脑 i5-1235U/16G/512G", "ThinkPad E14", "台", "5299.00", "5699.00", "1.59", 52, "670102", "中国"),
        ("惠普", "惠普(HP)战66 五代 14英寸笔记本 R5-5625U/16G/512G", "战66 五代", "台", "4199.00", "4499.00", "1.50", 40, "670102", "中国"),
        ("华硕", "华硕(ASUS)无畏Pro14 笔记本电脑 i5-12500H/16G/512G", "无畏Pro14", "台", "5099.00", "5499.00", "1.45", 0, "670102", "中国"),
        ("戴尔", "戴尔(DELL)Latitude 3420 14英寸商务笔记本 i5-1135G7/8G/256G", "Latitude 3420", "台", "4899.00", "5199.00", "1.60", 25, "670102", "中国"),
        ("华为", "华为(HUAWEI)MatePad 11 平板电脑 8G+128G WiFi", "DBY-W09", "台", "2299.00", "2499.00", "0.49", 90, "670103", "中国"),
        ("联想", "联想(Lenovo)小新Pad Pro 11.5英寸 平板电脑 6G+128G", "TB-J716F", "台", "1899.00", "2099.00", "0.48", 15, "670103", "中国"),
        ("戴尔", "戴尔(DELL)P2422H 23.8英寸 IPS 显示器", "P2422H", "台", "1299.00", "1499.00", "5.40", 150, "670104", "中国"),
        ("AOC", "AOC 24B2XH 23.8英寸 IPS 广视角 显示器", "24B2XH", "台", "699.00", "799.00", "3.10", 200, "670104", "中国"),
        ("飞利浦", "飞利浦(PHILIPS)243V7QDSB 23.8英寸 显示器", "243V7QDSB", "台", "759.00", "849.00", "3.30", 110, "670104", "中国"),
        ("罗技", "罗技(Logitech)MK275 无线键鼠套装", "MK275", "套", "99.00", "129.00", "0.65", 500, "670105", "中国"),
        ("西部数据", "西部数据(WD)Elements 2TB USB3.0 移动硬盘", "WDBU6Y0020BBK", "个", "469.00", "529.00", "0.23", 180, "670106", "泰国"),
        ("金士顿", "金士顿(Kingston)DTX 64GB USB3.2 U盘", "DTX/64GB", "个", "39.90", "49.90", "0.02", 800, "670106", "中国"),
        ("TP-LINK", "TP-LINK TL-WDR5620 双频千兆无线路由器", "TL-WDR5620", "台", "159.00", "189.00", "0.40", 260, "670107", "中国"),
        ("华为", "华为(HUAWEI)S1730S-L24T-A 24口千兆以太网交换机", "S1730S-L24T-A", "台", "1580.00", "1799.00", "2.30", 35, "670107", "中国"),
    ],
    "A0102": [
        ("惠普", "惠普(HP)LaserJet Pro M126nw 黑白激光多功能一体机", "M126nw", "台", "1699.00", "1899.00", "7.60", 48, "680201", "越南"),
        ("兄弟", "兄弟(brother)DCP-7195DW 黑白激光多功能一体机", "DCP-7195DW", "台", "1799.00", "1999.00", "9.80", 36, "680201", "中国"),
        ("佳能", "佳能(Canon)iR 2206N A3黑白数码复合机", "iR 2206N", "台", "6999.00", "7599.00", "28.50", 12, "680202", "中国"),
        ("爱普生", "爱普生(EPSON)L4268 墨仓式彩色多功能一体机", "L4268", "台", "1349.00", "1499.00", "5.00", 64, "680201", "菲律宾"),
        ("奔图", "奔图(PANTUM)P2506W 黑白激光打印机", "P2506W", "台", "799.00", "899.00", "4.70", 120, "680203", "中国"),
        ("联想", "联想(Lenovo)LJ2405D 黑白激光打印机 自动双面", "LJ2405D", "台", "1099.00", "1249.00", "6.90", 70, "680203", "中国"),
        ("得力", "得力(deli)9911 5级保密碎纸机", "9911", "台", "499.00", "599.00", "8.20", 55, "680204", "中国"),
        ("科密", "科密(comet)C-838 4级保密碎纸机", "C-838", "台", "699.00", "799.00", "10.50", 33, "680204", "中国"),
        ("爱普生", "爱普生(EPSON)CB-X06 投影仪 3600流明", "CB-X06", "台", "2999.00", "3299.00", "2.50", 28, "680205", "菲律宾"),
        ("明基", "明基(BenQ)E580 智能商务投影仪", "E580", "台", "3699.00", "3999.00", "2.90", 22, "680205", "中国"),
        ("松下", "松下(Panasonic)KX-FT872CN 热敏纸传真机", "KX-FT872CN", "台", "699.00", "799.00", "2.60", 40, "680206", "中国"),
        ("得力", "得力(deli)3960 人脸识别考勤机", "3960", "台", "399.00", "459.00", "0.90", 75, "680206", "中国"),
        ("齐心", "齐心(COMIX)JBYD-2116 智能验钞机", "JBYD-2116", "台", "459.00", "529.00", "3.80", 60, "680206", "中国"),
        ("富士胶片", "富士胶片(FUJIFILM)Apeos C2450S A3彩色数码复合机", "Apeos C2450S", "台", "18999.00", "19999.00", "62.00", 5, "680202", "中国"),
        ("理光", "理光(RICOH)M 2701 A3黑白数码复合机", "M 2701", "台", "8299.00", "8999.00", "35.00", 9, "680202", "中国"),
        ("海康威视", "海康威视(HIKVISION)DS-2CD3T46WDV3-I3 400万网络摄像机", "DS-2CD3T46WDV3-I3", "个", "329.00", "389.00", "0.60", 140, "680206", "中国"),
        ("得力", "得力(deli)3879 财务凭证装订机", "3879", "台", "899.00", "999.00", "9.00", 26, "680206", "中国"),
        ("惠普", "惠普(HP)ScanJet Pro 2000 s2 馈纸式扫描仪", "ScanJet Pro 2000 s2", "台", "2399.00", "2599.00", "3.60", 18, "680207", "中国"),
        ("华为", "华为(HUAWEI)IdeaHub S2 65英寸 智能会议平板", "IdeaHub S2 65", "台", "16999.00", "17999.00", "45.00", 0, "680207", "中国"),
        ("飞利浦", "飞利浦(PHILIPS)VTR5200 录音笔 16G", "VTR5200", "个", "399.00", "449.00", "0.10", 95, "680207", "中国"),
    ],
    "A0103": [
        ("得力", "得力(deli)7401 A4复印纸 70g 500张/包 8包/箱", "7401", "箱", "189.00", "219.00", "19.50", 400, "690301", "中国"),
        ("亚太森博", "亚太森博 百旺 A4复印纸 70g 500张/包 5包/箱", "百旺A4-70", "箱", "129.00", "149.00", "12.20", 300, "690301", "中国"),
        ("惠普", "惠普(HP)CF388A 黑色硒鼓 88A", "CF388A", "支", "459.00", "519.00", "0.90", 150, "690302", "中国"),
        ("兄弟", "兄弟(brother)TN-2325 黑色粉盒", "TN-2325", "支", "329.00", "369.00", "0.50", 130, "690302", "中国"),
        ("佳能", "佳能(Canon)PG-845 黑色墨盒", "PG-845", "个", "109.00", "125.00", "0.08", 210, "690303", "越南"),
        ("爱普生", "爱普生(EPSON)T6721 黑色墨水 70ml", "T6721", "瓶", "45.00", "55.00", "0.10", 320, "690303", "印度尼西亚"),
        ("晨光", "晨光(M&G)AGP87901 中性笔 0.5mm 黑色 12支/盒", "AGP87901", "盒", "18.80", "22.80", "0.15", 1000, "690304", "中国"),
        ("百乐", "百乐(PILOT)BL-P50 中性笔 0.5mm 黑色 12支/盒", "BL-P50", "盒", "96.00", "108.00", "0.18", 240, "690304", "日本"),
        ("得力", "得力(deli)0414 订书机 12号", "0414", "个", "16.50", "19.90", "0.20", 600, "690304", "中国"),
        ("齐心", "齐心(COMIX)A1248 A4 双强力夹文件夹", "A1248", "个", "7.90", "9.90", "0.16", 900, "690305", "中国"),
        ("得力", "得力(deli)7151 便利贴 76×76mm 100张×4本", "7151", "包", "9.90", "12.90", "0.20", 700, "690304", "中国"),
        ("3M", "3M 思高500 透明胶带 18mm×30m 8卷装", "500", "包", "23.50", "23.50", "0.35", 450, "690304", "中国"),
        ("得力", "得力(deli)9546 长尾夹 32mm 12只/盒", "9546", "盒", "6.80", "8.50", "0.12", 850, "690304", "中国"),
        ("得力", "得力(deli)1654 计算器 12位 语音型", "1654", "个", "39.00", "45.00", "0.25", 380, "690304", "中国"),
        ("晨光", "晨光(M&G)APYE1F21 A5 软抄本 80页 5本装", "APYE1F21", "包", "15.90", "19.90", "0.60", 520, "690304", "中国"),
        ("齐心", "齐心(COMIX)A1236 A4 档案盒 55mm 10个装", "A1236", "包", "42.00", "49.00", "1.50", 260, "690305", "中国"),
        ("得力", "得力(deli)6009 办公剪刀 170mm", "6009", "把", "5.50", "6.90", "0.08", 640, "690304", "中国"),
        ("得力", "得力(deli)7102 固体胶 21g 12支/盒", "7102", "盒", "28.80", "33.60", "0.40", 480, "690304", "中国"),
        ("广博", "广博(GuangBo)XF0501 牛皮纸信封 5号 100个/包", "XF0501", "包", "19.90", "24.90", "0.80", 330, "690305", "中国"),
        ("晨光", "晨光(M&G)MG2130 白板笔 黑色 10支/盒", "MG2130", "盒", "19.00", "23.00", "0.18", 560, "690304", "中国"),
    ],
}

OFF_SHELF = {("A0101", 11), ("A0102", 13), ("A0103", 1), ("A0103", 18)}

SERVICE = {
    "A0101": "全国联保，整机三年保修，主要部件三年上门服务，7天无理由退货，15天质量问题换货",
    "A0102": "全国联保，整机一年保修，免费上门安装调试，7天无理由退货",
    "A0103": "正品保障，7天无理由退货，质量问题包退包换",
}

SKU_BASE = {"A0101": 8103400, "A0102": 8217600, "A0103": 8351200}


def ean13(seed):
    digits = "690" + f"{seed % 1000000000:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


# --------------------------------------------------------------------------------------------
# areas: own numbering (not GB/T 2260)

AREA_TREE = [
    ("北京", {"北京市": ["东城区", "西城区", "朝阳区", "海淀区", "丰台区", "石景山区", "门头沟区", "房山区",
                       "通州区", "顺义区", "昌平区", "大兴区", "怀柔区", "平谷区", "密云区", "延庆区"]}),
    ("天津", {"天津市": ["和平区", "河东区", "河西区", "南开区", "河北区", "红桥区", "东丽区", "西青区",
                       "津南区", "北辰区", "武清区", "宝坻区", "滨海新区", "宁河区", "静海区", "蓟州区"]}),
    ("上海", {"上海市": ["黄浦区", "徐汇区", "长宁区", "静安区", "普陀区", "虹口区", "杨浦区", "闵行区",
                       "宝山区", "嘉定区", "浦东新区", "金山区", "松江区", "青浦区", "奉贤区", "崇明区"]}),
    ("重庆", {"重庆市": ["渝中区", "江北区", "南岸区", "九龙坡区", "沙坪坝区", "大渡口区", "渝北区", "巴南区"]}),
    ("河北", {"石家庄市": ["长安区", "桥西区", "新华区", "裕华区", "正定县"], "唐山市": ["路南区", "路北区", "丰润区", "迁安市"],
              "廊坊市": ["安次区", "广阳区", "三河市", "固安县"], "保定市": ["竞秀区", "莲池区", "涿州市"]}),
    ("山西", {"太原市": ["小店区", "迎泽区", "杏花岭区", "万柏林区"], "大同市": ["平城区", "云冈区"]}),
    ("河南", {"郑州市": ["中原区", "二七区", "金水区", "管城回族区"], "洛阳市": ["西工区", "涧西区", "洛龙区"]}),
    ("辽宁", {"沈阳市": ["和平区", "沈河区", "皇姑区", "铁西区"], "大连市": ["中山区", "西岗区", "沙河口区", "甘井子区"]}),
    ("吉林", {"长春市": ["南关区", "朝阳区", "绿园区"], "吉林市": ["船营区", "丰满区"]}),
    ("黑龙江", {"哈尔滨市": ["道里区", "南岗区", "香坊区"], "齐齐哈尔市": ["龙沙区", "建华区"]}),
    ("内蒙古", {"呼和浩特市": ["新城区", "回民区", "赛罕区"], "包头市": ["昆都仑区", "青山区"]}),
    ("江苏", {"南京市": ["玄武区", "秦淮区", "鼓楼区", "建邺区", "江宁区"], "苏州市": ["姑苏区", "虎丘区", "吴中区", "昆山市"]}),
    ("山东", {"济南市": ["历下区", "市中区", "槐荫区", "历城区"], "青岛市": ["市南区", "市北区", "黄岛区", "崂山区"]}),
    ("安徽", {"合肥市": ["瑶海区", "庐阳区", "蜀山区", "包河区"], "芜湖市": ["镜湖区", "鸠江区"]}),
    ("浙江", {"杭州市": ["上城区", "拱墅区", "西湖区", "滨江区", "余杭区"], "宁波市": ["海曙区", "江北区", "鄞州区"]}),
    ("福建", {"福州市": ["鼓楼区", "台江区", "仓山区"], "厦门市": ["思明区", "湖里区", "集美区"]}),
    ("湖北", {"武汉市": ["江岸区", "江汉区", "武昌区", "洪山区"], "宜昌市": ["西陵区", "伍家岗区"]}),
    ("湖南", {"长沙市": ["芙蓉区", "天心区", "岳麓区", "开福区"], "株洲市": ["荷塘区", "天元区"]}),
    ("广东", {"广州市": ["越秀区", "海珠区", "天河区", "白云区", "番禺区"], "深圳市": ["罗湖区", "福田区", "南山区", "宝安区", "龙岗区"]}),
    ("广西", {"南宁市": ["兴宁区", "青秀区", "江南区"], "柳州市": ["城中区", "鱼峰区"]}),
    ("江西", {"南昌市": ["东湖区", "西湖区", "青山湖区"], "九江市": ["濂溪区", "浔阳区"]}),
    ("四川", {"成都市": ["锦江区", "青羊区", "金牛区", "武侯区", "成华区"], "绵阳市": ["涪城区", "游仙区"]}),
    ("海南", {"海口市": ["秀英区", "龙华区", "琼山区", "美兰区"], "三亚市": ["海棠区", "吉阳区", "天涯区"]}),
    ("贵州", {"贵阳市": ["南明区", "云岩区", "花溪区"], "遵义市": ["红花岗区", "汇川区"]}),
    ("云南", {"昆明市": ["五华区", "盘龙区", "官渡区", "西山区"], "大理白族自治州": ["大理市", "祥云县"]}),
    ("西藏", {"拉萨市": ["城关区", "堆龙德庆区"], "日喀则市": ["桑珠孜区", "江孜县"]}),
    ("陕西", {"西安市": ["新城区", "碑林区", "莲湖区", "雁塔区"], "宝鸡市": ["渭滨区", "金台区"]}),
    ("甘肃", {"兰州市": ["城关区", "七里河区", "安宁区"], "天水市": ["秦州区", "麦积区"]}),
    ("青海", {"西宁市": ["城东区", "城中区", "城西区", "城北区"]}),
    ("宁夏", {"银川市": ["兴庆区", "西夏区", "金凤区"], "石嘴山市": ["大武口区", "惠农区"]}),
    ("新疆", {"乌鲁木齐市": ["天山区", "沙依巴克区", "新市区", "水磨沟区"], "克拉玛依市": ["克拉玛依区", "独山子区"]}),
]


class Areas:
    def __init__(self):
        self.provinces = {}  # name -> id
        self.cities = {}     # province id -> {name: id}
        self.counties = {}   # city id -> {name: id}
        self.node = {}       # id -> (level, name, parent id)
        city_no, county_no = 2801, 50950
        for p_no, (pname, cities) in enumerate(AREA_TREE, 1):
            pid = str(p_no)
            self.provinces[pname] = pid
            self.node[pid] = ("province", pname, None)
            self.cities[pid] = {}
            for cname, counties in cities.items():
                cid = str(city_no)
                city_no += 1
                self.cities[pid][cname] = cid
                self.node[cid] = ("city", cname, pid)
                self.counties[cid] = {}
                for kname in counties:
                    kid = str(county_no)
                    county_no += 7
                    self.counties[cid][kname] = kid
                    self.node[kid] = ("county", kname, cid)

    def resolve(self, value, level, parent):
        """An area given by id or by name, at level, under parent id (None for provinces)."""
        v = (value or "").strip()
        if not v:
            return None
        n = self.node.get(v)
        if n and n[0] == level and n[2] == parent:
            return v
        table = {"province": self.provinces, "city": self.cities.get(parent, {}),
                 "county": self.counties.get(parent, {})}[level]
        return table.get(v)


# --------------------------------------------------------------------------------------------
# the supplier

class Supplier:
    def __init__(self, base, username, password, ship_after, faults, verbose=False):
        self.base = base
        self.username = username
        self.password_md5 = md5_hex(password)
        self.ship_after = ship_after
        self.faults = set(faults)
        self.verbose = verbose
        self.lock = threading.RLock()
        self.t0 = time.time()
        self.areas = Areas()
        self.tokens = {}  # token -> (username, expires_at)
        self.user_token = {}  # username -> token
        self.orders = {}
        self.order_by_po = {}
        self.order_seq = 0
        self.service_seq = 0
        self.id_prefix = datetime.fromtimestamp(self.t0, CST).strftime("%y%m%d%H%M%S")
        self.invoices = {}  # invoice_no -> order_id
        self._build_catalogue()

    # ---------------------------------------------------------------- catalogue
    def _build_catalogue(self):
        self.skus = {}
        self.pool_skus = {}
        t0 = self.t0
        old = datetime(2024, 3, 1, 9, 30, 0, tzinfo=CST).timestamp()
        for p_idx, (pid, pname) in enumerate(POOLS):
            self.pool_skus[pid] = []
            for i, row in enumerate(ITEMS[pid]):
                brand, name, model, unit, price, market, weight, stock, cat, origin = row
                sku = str(SKU_BASE[pid] + 17 + i * 13)
                imgs = [f"{self.base}/img/{sku}_{k}.jpg" for k in (1, 2, 3)]
                item = {
                    "sku": sku, "pool": pid, "idx": i, "brand": brand, "name": name, "model": model,
                    "unit": unit, "price": Decimal(price), "market": Decimal(market), "weight": weight,
                    "stock": stock, "reserved": 0, "sold": 0, "category": cat, "origin": origin,
                    "state": 0 if (pid, i) in OFF_SHELF else 1, "images": imgs,
                    "created": old + (p_idx * 20 + i) * 86400 * 3,
                }
                self.skus[sku] = item
                self.pool_skus[pid].append(sku)
        s = lambda pid, i: self.pool_skus[pid][i]
        # recently added SKUs (times relative to start-up, so the windows mean something)
        for (pid, i), ago in {("A0101", 19): 2 * 3600, ("A0102", 17): 86400, ("A0103", 17): 2 * 86400,
                              ("A0103", 19): 4 * 86400, ("A0102", 16): 20 * 86400}.items():
            self.skus[s(pid, i)]["created"] = t0 - ago
        # change log: sku -> (change_type, time)
        self.changes = []
        for pid, i, kind, ago in [
            ("A0101", 11, "state", 1 * 86400), ("A0102", 13, "state", 2 * 86400 + 3600),
            ("A0103", 1, "state", 3 * 86400), ("A0103", 18, "state", 5 * 86400),
            ("A0101", 5, "price", 3 * 3600), ("A0102", 4, "price", 86400 + 7200), ("A0103", 6, "price", 6 * 86400),
            ("A0101", 12, "detail", 5 * 3600), ("A0102", 8, "detail", 2 * 86400),
            ("A0101", 15, "image", 4 * 3600), ("A0103", 2, "image", 4 * 86400),
            ("A0102", 0, "price", 30 * 86400), ("A0101", 3, "detail", 45 * 86400),
        ]:
            self.changes.append((s(pid, i), kind, t0 - ago))
        # fault targets
        first = self.pool_skus["A0101"]
        if "price-above-market" in self.faults:
            it = self.skus[first[0]]
            it["price"] = it["market"] + Decimal("200.00")
        self.no_brand_sku = first[1] if "missing-brand" in self.faults else None
        # accessories / services (ids shared by accessories and accessory_links)
        self.accessories = {}
        for sku, it in self.skus.items():
            pid, n = it["pool"], int(sku) % 1000
            items = []
            if pid == "A0101":
                items.append({"id": f"PJ{sku}01", "kind": 1, "name": f"{it['brand']}原装电源适配器",
                              "param": "输入100-240V，输出65W", "price": money("129.00")})
                items.append({"id": f"PJ{sku}02", "kind": 1, "name": "防蓝光屏幕保护膜",
                              "param": "适配14-24英寸，磨砂", "price": money("39.00")})
                items.append({"id": f"FW{sku}01", "kind": 2, "name": "上门安装调试服务",
                              "param": "天津市区内，预约后48小时内上门", "price": money("50.00")})
            elif pid == "A0102":
                items.append({"id": f"PJ{sku}01", "kind": 1, "name": "原装电源线",
                              "param": "国标三插，1.5米", "price": money("35.00")})
                items.append({"id": f"FW{sku}01", "kind": 2, "name": "上门安装及培训服务",
                              "param": "含安装调试与操作培训1次", "price": money("80.00")})
            else:
                items.append({"id": f"FW{sku}01", "kind": 2, "name": "送货上楼服务",
                              "param": "无电梯6层以内", "price": money("10.00")})
            self.accessories[sku] = items
        # warranty (durable goods only)
        self.warranty = {}
        for sku, it in self.skus.items():
            if it["pool"] == "A0103":
                self.warranty[sku] = []
                continue
            base_price = (it["market"] * Decimal("0.05")).quantize(CENT)
            self.warranty[sku] = [
                {"id": f"YB{sku}1", "name": "延长保修1年", "content": "原厂保修期满后延长1年整机保修，含上门维修",
                 "price": max(base_price, money("29.00")), "years": 1},
                {"id": f"YB{sku}2", "name": "延长保修2年", "content": "原厂保修期满后延长2年整机保修，含上门维修",
                 "price": max(base_price * 2 - Decimal("10.00"), money("49.00")), "years": 2},
            ]
        # promotions
        self.group_buys, self.specials = [], []
        gb_targets = [("A0101", 0), ("A0101", 6), ("A0102", 4), ("A0103", 0), ("A0103", 6)]
        for k, (pid, i) in enumerate(gb_targets):
            sku = s(pid, i)
            self.group_buys.append({"id": f"TG{20240 + k:06d}", "sku": sku, "num": [50, 30, 20, 100, 200][k],
                                    "rate": Decimal("0.92"), "apply": t0 - 10 * 86400,
                                    "start": t0 - 3 * 86400, "end": t0 + (30 + k) * 86400})
        sp_targets = [("A0101", 13), ("A0102", 6), ("A0103", 8), ("A0103", 12)]
        for k, (pid, i) in enumerate(sp_targets):
            sku = s(pid, i)
            self.specials.append({"id": f"TH{30510 + k:06d}", "sku": sku, "rate": Decimal("0.95"),
                                  "apply": t0 - 7 * 86400, "start": t0 - 1 * 86400, "end": t0 + 14 * 86400})
        self.tiers = {}
        for sku, it in self.skus.items():
            if it["pool"] == "A0103":
                self.tiers[sku] = [(1, "1.00"), (10, "0.98"), (50, "0.95"), (200, "0.92")]
            else:
                self.tiers[sku] = [(1, "1.00"), (5, "0.98"), (20, "0.96")]

    def available(self, it):
        return max(0, it["stock"] - it["reserved"] - it["sold"])

    def offer_price(self, sku, rate):
        return (self.skus[sku]["price"] * rate).quantize(CENT)

    # ---------------------------------------------------------------- param helpers
    def sku_list(self, params, field="sku", required=True):
        raw = params.get(field, "")
        items = []
        for part in str(raw).split(","):
            part = part.strip()
            if part and part not in items:
                items.append(part)
        if not items:
            if required:
                raise Refuse(f"{field} 不能为空")
            return []
        if len(items) > MAX_BATCH:
            raise Refuse(f"每次最多查询 {MAX_BATCH} 个 SKU，本次 {len(items)} 个")
        unknown = [x for x in items if x not in self.skus]
        if unknown:
            raise Refuse("SKU 不存在: " + ",".join(unknown[:10]))
        return items

    def area_param(self, params, field="area_id"):
        a = str(params.get(field, "")).strip()
        if not a:
            raise Refuse(f"{field} 不能为空")
        if a not in self.areas.node:
            raise Refuse(f"地区编码不存在: {a}")
        return a

    def order_param(self, params):
        oid = str(params.get("order_id", "")).strip()
        if not oid:
            raise Refuse("order_id 不能为空")
        o = self.orders.get(oid)
        if o is None:
            raise Refuse(f"订单不存在: {oid}")
        return o

    def window(self, params):
        def one(field, end):
            raw = str(params.get(field, "")).strip()
            if not raw:
                return None
            t = parse_time(raw)
            if t is None:
                d = parse_date(raw)
                if d is None:
                    raise Refuse(f"{field} 格式应为 yyyy-MM-dd HH:mm:ss: {raw}")
                t = d + (86399 if end else 0)
            return t
        start, end = one("start_time", False), one("end_time", True)
        now = time.time()
        if start is None and end is None:
            start, end = now - 7 * 86400, now
        elif start is None:
            start = 0
        elif end is None:
            end = now + 86400 * 3650
        if start > end:
            raise Refuse("start_time 不能晚于 end_time")
        return start, end

    # ---------------------------------------------------------------- token
    def check_token(self, params):
        tok = str(params.get("token", "")).strip()
        if not tok:
            if "no-token-check" in self.faults:
                return
            raise Refuse("token_expired: 缺少 token 参数，请先获取 access_token")
        entry = self.tokens.get(tok)
        if entry is None or time.time() >= entry[1]:
            raise Refuse("token_expired: token 无效或已过期，请重新获取")

    def api_token(self, p):
        for f in ("username", "password", "timestamp", "sign"):
            if not str(p.get(f, "")).strip():
                raise Refuse(f"{f} 不能为空")
        username, password, stamp, sign = (str(p[f]).strip() for f in ("username", "password", "timestamp", "sign"))
        ts = parse_time(stamp)
        if ts is None:
            raise Refuse("timestamp 格式应为 yyyy-MM-dd HH:mm:ss")
        now = time.time()
        if abs(now - ts) > TIMESTAMP_SKEW:
            raise Refuse("timestamp 与服务器时间相差超过 10 分钟")
        if sign != md5_hex(username + password + stamp + password):
            raise Refuse("sign 签名校验失败")
        if username != self.username or password != self.password_md5:
            raise Refuse("用户名或密码错误")
        with self.lock:
            tok = self.user_token.get(username)
            if tok and self.tokens.get(tok) and now < self.tokens[tok][1]:
                exp = self.tokens[tok][1]  # still valid: the same token again, with its original expiry
            else:
                tok = secrets.token_hex(16)
                exp = now + TOKEN_TTL
                self.tokens[tok] = (username, exp)
                self.user_token[username] = tok
        return {"access_token": tok, "expires_at": fmt_time(exp)}

    # ---------------------------------------------------------------- catalogue interfaces
    def api_pools(self, p):
        return [{"id": pid, "name": name} for pid, name in POOLS]

    def api_skus(self, p):
        cid = str(p.get("catalog_id", "")).strip()
        if not cid:
            raise Refuse("catalog_id 不能为空")
        if cid not in self.pool_skus:
            raise Refuse(f"商品池不存在: {cid}")
        return list(self.pool_skus[cid])

    def api_detail(self, p):
        sku = str(p.get("sku", "")).strip()
        if not sku:
            raise Refuse("sku 不能为空")
        if "," in sku:
            raise Refuse("详情接口每次只能查询一个 SKU")
        it = self.skus.get(sku)
        if it is None:
            raise Refuse(f"SKU 不存在: {sku}")
        pool = it["pool"]
        param = (f"<table><tr><th>品牌</th><td>{it['brand']}</td></tr><tr><th>型号</th><td>{it['model']}</td></tr>"
                 f"<tr><th>产地</th><td>{it['origin']}</td></tr><tr><th>毛重</th><td>{it['weight']}kg</td></tr></table>")
        intro = (f"<div class=\"detail\"><p>{it['name']}</p><p>正品行货，{SERVICE[pool]}。</p>"
                 f"<img src=\"{it['images'][1]}\"/><img src=\"{it['images'][2]}\"/></div>")
        ware = {"A0101": f"{it['name'].split(' ')[0]}×1，电源线×1，说明书×1，保修卡×1",
                "A0102": "主机×1，电源线×1，随机耗材×1，说明书×1，保修卡×1",
                "A0103": f"{it['name'].split(' ')[0]}×1"}[pool]
        n = int(sku)
        return {
            "sku": sku,
            "url": f"{self.base}/item/{sku}.html",
            "model": it["model"],
            "weight": it["weight"],
            "image_path": it["images"][0],
            "state": it["state"],
            "brand_name": "" if sku == self.no_brand_sku else it["brand"],
            "name": it["name"],
            "product_area": it["origin"],
            "upc": ean13(n * 7919),
            "unit": it["unit"],
            "category": it["category"],
            "service": SERVICE[pool],
            "introduction": intro,
            "param": param,
            "ware": ware,
            "is_energy_saving": 1 if pool != "A0103" and n % 3 != 0 else 0,
            "is_environmental": 1 if n % 2 == 0 else 0,
            "is_imported": 1 if it["origin"] not in ("中国",) else 0,
        }

    def api_shelf_states(self, p):
        return [{"sku": s, "state": self.skus[s]["state"]} for s in self.sku_list(p)]

    def api_images(self, p):
        return [{"sku": s, "images": [{"path": u, "order": k} for k, u in enumerate(self.skus[s]["images"])]}
                for s in self.sku_list(p)]

    def api_ratings(self, p):
        out = []
        for s in self.sku_list(p):
            n = int(s)
            bad = Decimal(n % 3) / 100
            medium = Decimal(1 + n % 5) / 100
            good = Decimal(1) - bad - medium
            out.append({"sku": s, "average": Decimal(45 + n % 6) / 10, "good": good, "medium": medium, "bad": bad})
        return out

    def api_prices(self, p):
        name = "market_price" if "market-price-renamed" in self.faults else "mall_price"
        return [{"sku": s, "price": self.skus[s]["price"], name: self.skus[s]["market"]} for s in self.sku_list(p)]

    def api_provinces(self, p):
        return dict(self.areas.provinces)

    def api_cities(self, p):
        pid = str(p.get("id", "")).strip()
        if not pid:
            raise Refuse("id 不能为空")
        if pid not in self.areas.cities:
            raise Refuse(f"省份编码不存在: {pid}")
        return dict(self.areas.cities[pid])

    def api_counties(self, p):
        cid = str(p.get("id", "")).strip()
        if not cid:
            raise Refuse("id 不能为空")
        if cid not in self.areas.counties:
            raise Refuse(f"城市编码不存在: {cid}")
        return dict(self.areas.counties[cid])

    def api_stocks(self, p):
        skus = self.sku_list(p)
        area = self.area_param(p)
        with self.lock:
            out = []
            for s in skus:
                num = self.available(self.skus[s])
                out.append({"sku": s, "area_id": area, "num": num, "desc": "有货" if num > 0 else "无货"})
            return out

    def api_new_skus(self, p):
        start, end = self.window(p)
        rows = sorted((it["created"], s) for s, it in self.skus.items() if start <= it["created"] <= end)
        return [{"sku": s, "catalog_id": self.skus[s]["pool"], "time": fmt_time(t)} for t, s in rows]

    def api_changed_skus(self, p):
        start, end = self.window(p)
        rows = sorted((t, s, k) for s, k, t in self.changes if start <= t <= end)
        return [{"sku": s, "change_type": k, "time": fmt_time(t)} for t, s, k in rows]

    # ---------------------------------------------------------------- orders
    def status(self, o, now=None):
        """(state, submit_state, deliver_state) derived from the order's history and the clock."""
        now = time.time() if now is None else now
        submit_state = 1 if o["confirmed_at"] else 0
        if o["cancelled_at"]:
            return -2, submit_state, 0
        if not o["confirmed_at"]:
            return 0, 0, 0
        if now >= o["confirmed_at"] + 2 * self.ship_after:
            return 1, 1, 1
        if now >= o["confirmed_at"] + self.ship_after:
            return 5, 1, 0
        return 0, 1, 0

    def _submit_answer(self, o):
        price = o["order_price"]
        if "wrong-order-total" in self.faults:
            price = price + CENT
        return {"order_id": o["order_id"], "po_order": o["po_order"], "order_price": price, "freight": o["freight"],
                "sku": [{"sku": l["sku"], "num": l["num"], "price": l["price"]} for l in o["lines"]]}

    def api_submit(self, p):
        po = str(p.get("po_order", "")).strip()
        if not po:
            raise Refuse("po_order 不能为空")
        if len(po) > 50:
            raise Refuse("po_order 长度不能超过 50")
        with self.lock:
            if po in self.order_by_po and "duplicate-order-on-resubmit" not in self.faults:
                return self._submit_answer(self.orders[self.order_by_po[po]])
            lines = self._order_lines(p.get("sku"))
            # consignee
            for f in ("name", "province", "city", "county", "address"):
                if not str(p.get(f, "")).strip():
                    raise Refuse(f"{f} 不能为空")
            if not str(p.get("mobile", "")).strip() and not str(p.get("phone", "")).strip():
                raise Refuse("mobile 与 phone 至少填写一个")
            mobile = str(p.get("mobile", "")).strip()
            if mobile and not re.fullmatch(r"1\d{10}", mobile):
                raise Refuse(f"mobile 格式不正确: {mobile}")
            prov = self.areas.resolve(p.get("province"), "province", None)
            if prov is None:
                raise Refuse(f"省份不存在: {p.get('province')}")
            city = self.areas.resolve(p.get("city"), "city", prov)
            if city is None:
                raise Refuse(f"城市不存在或不属于该省: {p.get('city')}")
            county = self.areas.resolve(p.get("county"), "county", city)
            if county is None:
                raise Refuse(f"区县不存在或不属于该市: {p.get('county')}")
            # invoice
            inv_type = parse_int(p.get("invoice_type"), "invoice_type", {1, 2, 3})
            for f in ("invoice_title", "invoice_org_code"):
                if not str(p.get(f, "")).strip():
                    raise Refuse(f"{f} 不能为空")
            if inv_type == 2:
                for f in ("invoice_name", "invoice_phone", "invoice_bank", "invoice_bank_code", "invoice_address",
                          "invoice_mobile", "invoice_receipt_address"):
                    if not str(p.get(f, "")).strip():
                        raise Refuse(f"增值税专用发票 {f} 不能为空")
            inv_content = 1
            if str(p.get("invoice_content", "")).strip():
                inv_content = parse_int(p.get("invoice_content"), "invoice_content", {1, 2, 3, 4})
            payment = parse_int(p.get("payment"), "payment", {1, 2, 3, 4, 5, 6})
            # money
            freight = Decimal("0.00")
            if str(p.get("freight", "")).strip():
                freight = parse_money(p.get("freight"), "freight")
                if freight < 0:
                    raise Refuse("freight 不能为负数")
            order_price = parse_money(p.get("order_price"), "order_price")
            for l in lines:
                agreed = self.skus[l["sku"]]["price"]
                if l["price"] != agreed:
                    raise Refuse(f"商品 {l['sku']} 价格不符：下单价 {l['price']}，协议价 {agreed}")
            expected = sum((l["price"] * l["num"] for l in lines), Decimal("0")) + freight
            if order_price != expected:
                raise Refuse(f"订单金额校验失败：order_price {order_price}，应为 {money(expected)}")
            # stock
            for l in lines:
                it = self.skus[l["sku"]]
                if self.available(it) < l["num"]:
                    raise Refuse(f"商品 {l['sku']} 库存不足：可售 {self.available(it)}，下单 {l['num']}")
            if "no-stock-lock" not in self.faults:
                for l in lines:
                    self.skus[l["sku"]]["reserved"] += l["num"]
            self.order_seq += 1
            oid = f"{self.id_prefix}{self.order_seq:04d}"
            now = time.time()
            o = {"order_id": oid, "po_order": po, "lines": [{"sku": l["sku"], "num": l["num"], "price": money(l["price"])}
                                                            for l in lines],
                 "freight": money(freight), "order_price": money(order_price), "payment": payment,
                 "invoice_type": inv_type, "invoice_content": inv_content, "province": prov, "city": city,
                 "county": county, "consignee": str(p.get("name")).strip(), "created_at": now,
                 "confirmed_at": None, "cancelled_at": None, "locked": "no-stock-lock" not in self.faults,
                 "after_sales": [], "credit": None,
                 "waybill_no": f"SF{1400000000000 + secrets.randbelow(10 ** 11) * 10 + self.order_seq % 10}"}
            self.orders[oid] = o
            self.order_by_po[po] = oid
            return self._submit_answer(o)

    def _order_lines(self, raw):
        if raw is None or str(raw).strip() == "":
            raise Refuse("sku 不能为空")
        try:
            data = json.loads(raw, parse_float=Decimal) if isinstance(raw, str) else raw
        except ValueError:
            raise Refuse("sku 必须为 JSON 数组，如 [{\"sku\":\"...\",\"num\":1,\"price\":1.00}]")
        if not isinstance(data, list) or not data:
            raise Refuse("sku 必须为非空 JSON 数组")
        if len(data) > MAX_BATCH:
            raise Refuse(f"一个订单最多 {MAX_BATCH} 个 SKU")
        lines, seen = [], set()
        for row in data:
            if not isinstance(row, dict):
                raise Refuse("sku 数组的元素必须为对象")
            sku = str(row.get("sku", "")).strip()
            if sku not in self.skus:
                raise Refuse(f"SKU 不存在: {sku}")
            if sku in seen:
                raise Refuse(f"订单中 SKU 重复: {sku}")
            seen.add(sku)
            if self.skus[sku]["state"] != 1:
                raise Refuse(f"商品 {sku} 已下架，不可购买")
            num = row.get("num")
            if isinstance(num, bool) or not (isinstance(num, int) or (isinstance(num, str) and num.strip().isdigit())):
                raise Refuse(f"商品 {sku} 数量不合法: {num}")
            num = int(num)
            if num < 1:
                raise Refuse(f"商品 {sku} 数量必须大于 0")
            price = parse_money(row.get("price"), f"商品 {sku} 的 price")
            lines.append({"sku": sku, "num": num, "price": price})
        return lines

    def api_confirm(self, p):
        with self.lock:
            o = self.order_param(p)
            if o["cancelled_at"]:
                raise Refuse("订单已取消，不能确认")
            if o["confirmed_at"]:
                return True
            for l in o["lines"]:
                it = self.skus[l["sku"]]
                if o["locked"]:
                    it["reserved"] -= l["num"]
                it["sold"] += l["num"]
            o["confirmed_at"] = time.time()
            return True

    def api_cancel(self, p):
        with self.lock:
            o = self.order_param(p)
            if o["cancelled_at"]:
                return True
            if o["confirmed_at"]:
                if "cancel-after-confirm" not in self.faults:
                    raise Refuse("订单已确认，取消失败；货物可能已经派件，请采购人拒收")
                for l in o["lines"]:
                    self.skus[l["sku"]]["sold"] -= l["num"]
            elif o["locked"]:
                for l in o["lines"]:
                    self.skus[l["sku"]]["reserved"] -= l["num"]
            o["cancelled_at"] = time.time()
            return True

    def api_select(self, p):
        with self.lock:
            o = self.order_param(p)
            state, submit_state, deliver_state = self.status(o)
            return {"order_id": o["order_id"], "po_order": o["po_order"], "state": state, "submit_state": submit_state,
                    "deliver_state": deliver_state, "order_price": o["order_price"], "freight": o["freight"],
                    "skus": [dict(l) for l in o["lines"]]}

    def api_track(self, p):
        with self.lock:
            o = self.order_param(p)
            now = time.time()
            state, _, _ = self.status(o, now)
            track = [{"content": "您提交了订单，请等待系统确认", "operate_time": fmt_time(o["created_at"]), "operator": "客户"}]
            waybill = []
            if o["confirmed_at"]:
                c = o["confirmed_at"]
                track.append({"content": "您的订单已确认，仓库正在拣货", "operate_time": fmt_time(c), "operator": "系统"})
                shipped = now >= c + self.ship_after and (o["cancelled_at"] is None or o["cancelled_at"] > c + self.ship_after)
                if shipped:
                    waybill.append({"logistic_name": "顺丰速运", "logistic_no": o["waybill_no"],
                                    "shipment_id": f"FY{o['order_id']}01",
                                    "shipment_items": [{"sku": l["sku"], "name": self.skus[l["sku"]]["name"], "num": l["num"]}
                                                       for l in o["lines"]]})
                    track.append({"content": f"您的订单已出库，由顺丰速运承运，运单号 {o['waybill_no']}",
                                  "operate_time": fmt_time(c + self.ship_after), "operator": "天津武清仓 王建国"})
                if state == 1:
                    track.append({"content": "您的订单已妥投，签收人：本人，感谢您的采购",
                                  "operate_time": fmt_time(c + 2 * self.ship_after), "operator": "配送员 李强"})
            if o["cancelled_at"]:
                track.append({"content": "订单已取消", "operate_time": fmt_time(o["cancelled_at"]), "operator": "客户"})
            return {"order_id": o["order_id"], "waybill": waybill, "track": track}

    def api_after_sale(self, p):
        with self.lock:
            o = self.order_param(p)
            state, _, _ = self.status(o)
            if state != 1:
                raise Refuse("订单尚未妥投完成，不能申请退换货")
            typ = parse_int(p.get("type"), "type", {4, 5, 6})
            raw = p.get("skus")
            if raw is None or str(raw).strip() == "":
                raise Refuse("skus 不能为空")
            try:
                rows = json.loads(raw) if isinstance(raw, str) else raw
            except ValueError:
                raise Refuse("skus 必须为 JSON 数组，如 [{\"sku\":\"...\",\"num\":1}]")
            if not isinstance(rows, list) or not rows:
                raise Refuse("skus 必须为非空 JSON 数组")
            ordered = {l["sku"]: l["num"] for l in o["lines"]}
            used = {}
            for a in o["after_sales"]:
                for s, n in a["skus"]:
                    used[s] = used.get(s, 0) + n
            wanted = []
            for r in rows:
                if not isinstance(r, dict):
                    raise Refuse("skus 数组的元素必须为对象")
                s = str(r.get("sku", "")).strip()
                if s not in ordered:
                    raise Refuse(f"SKU {s} 不在该订单中")
                n = r.get("num")
                if isinstance(n, bool) or not (isinstance(n, int) or (isinstance(n, str) and n.strip().isdigit())):
                    raise Refuse(f"SKU {s} 数量不合法: {n}")
                n = int(n)
                if n < 1 or n + used.get(s, 0) > ordered[s]:
                    raise Refuse(f"SKU {s} 可申请数量为 {ordered[s] - used.get(s, 0)}")
                wanted.append((s, n))
            self.service_seq += 1
            sid = f"AS{self.id_prefix}{self.service_seq:03d}"
            o["after_sales"].append({"id": sid, "type": typ, "skus": wanted, "desc": str(p.get("desc", ""))})
            return {"order_service_id": sid, "order_id": o["order_id"], "type": typ}

    def api_reconcile(self, p):
        b, e = str(p.get("bdate", "")).strip(), str(p.get("edate", "")).strip()
        if not b or not e:
            raise Refuse("bdate 与 edate 不能为空")
        bt, et = parse_date(b), parse_date(e)
        if bt is None or et is None:
            raise Refuse("bdate/edate 格式应为 yyyy-MM-dd")
        if bt > et:
            raise Refuse("bdate 不能晚于 edate")
        et += 86400
        with self.lock:
            rows = []
            for o in sorted(self.orders.values(), key=lambda x: x["created_at"]):
                if not (bt <= o["created_at"] < et) or o["cancelled_at"]:
                    continue
                state, _, _ = self.status(o)
                rows.append({"order_id": o["order_id"], "state": state, "invoice_state": 1 if o["confirmed_at"] else 0,
                             "order_price": o["order_price"]})
            return {"orders": rows, "count": len(rows), "amount": sum((r["order_price"] for r in rows), Decimal("0.00"))}

    def api_accessories(self, p):
        return [{"sku": s, "items": [dict(i) for i in self.accessories[s]]} for s in self.sku_list(p)]

    def api_credit_payment(self, p):
        with self.lock:
            o = self.order_param(p)
            if o["payment"] != 5:
                raise Refuse("该订单不是账期支付订单（payment 5）")
            if o["cancelled_at"]:
                raise Refuse("订单已取消")
            if not o["confirmed_at"]:
                raise Refuse("订单尚未确认")
            amount = parse_money(p.get("pay_amount"), "pay_amount")
            if amount <= 0:
                raise Refuse("pay_amount 必须大于 0")
            pay_time = str(p.get("pay_time", "")).strip()
            if parse_time(pay_time) is None:
                raise Refuse("pay_time 格式应为 yyyy-MM-dd HH:mm:ss")
            transfer = str(p.get("transfer_no", "")).strip()
            if not transfer:
                raise Refuse("transfer_no 不能为空")
            c = o["credit"]
            if c and self._pay_state(o)[0] in (1, 2):
                raise Refuse("该订单的转账信息已提交，请勿重复提交")
            o["credit"] = {"amount": money(amount), "time": pay_time, "transfer_no": transfer, "at": time.time()}
            return True

    def _pay_state(self, o):
        c = o["credit"]
        if not c:
            return 0, Decimal("0.00"), "尚未付款"
        if time.time() < c["at"] + 1.0:
            return 1, c["amount"], "转账信息已提交，等待供应商核实"
        if c["amount"] == o["order_price"]:
            return 2, c["amount"], f"已核实到账，转账流水号 {c['transfer_no']}"
        return -1, c["amount"], f"转账金额 {c['amount']} 与订单金额 {o['order_price']} 不符"

    def api_credit_payment_query(self, p):
        with self.lock:
            o = self.order_param(p)
            if o["payment"] != 5:
                raise Refuse("该订单不是账期支付订单（payment 5）")
            state, amount, desc = self._pay_state(o)
            return {"order_id": o["order_id"], "pay_state": state, "pay_amount": amount, "verify_desc": desc}

    def api_warranty(self, p):
        skus = self.sku_list(p)
        self.area_param(p)
        return [{"sku": s, "services": [dict(x) for x in self.warranty[s]]} for s in skus]

    def api_accessory_links(self, p):
        skus = self.sku_list(p, required=False) or [s for s in self.skus if self.accessories[s]]
        return [{"sku": s, "links": [{"id": i["id"], "name": i["name"], "kind": i["kind"]} for i in self.accessories[s]]}
                for s in skus]

    def api_group_buys(self, p):
        skus = self.sku_list(p, required=False)
        return [{"id": g["id"], "sku": g["sku"], "price": self.offer_price(g["sku"], g["rate"]), "num": g["num"],
                 "apply_date": fmt_time(g["apply"]), "start_time": fmt_time(g["start"]), "end_time": fmt_time(g["end"])}
                for g in self.group_buys if not skus or g["sku"] in skus]

    def api_specials(self, p):
        skus = self.sku_list(p, required=False)
        return [{"id": g["id"], "sku": g["sku"], "price": self.offer_price(g["sku"], g["rate"]),
                 "apply_date": fmt_time(g["apply"]), "start_time": fmt_time(g["start"]), "end_time": fmt_time(g["end"])}
                for g in self.specials if not skus or g["sku"] in skus]

    def api_tiered_rates(self, p):
        skus = self.sku_list(p, required=False) or list(self.skus)
        return [{"sku": s, "tiers": [{"min_num": m, "rate": Decimal(r)} for m, r in self.tiers[s]]} for s in skus]

    def api_einvoice(self, p):
        with self.lock:
            o = self.order_param(p)
            if o["cancelled_at"] or not o["confirmed_at"]:
                return []
            no = f"12{o['order_id'][-10:]}"
            self.invoices[no] = o["order_id"]
            return [{"order_id": o["order_id"], "invoice_no": no, "invoice_date": fmt_time(o["confirmed_at"]),
                     "invoice_amount": o["order_price"], "url": f"{self.base}/invoice/{no}.pdf"}]

    # ---------------------------------------------------------------- static resources
    def static(self, path):
        m = re.fullmatch(r"/img/(\d{7})_([123])\.jpg", path)
        if m and m.group(1) in self.skus:
            return "image/jpeg", JPEG_BODY
        m = re.fullmatch(r"/item/(\d{7})\.html", path)
        if m and m.group(1) in self.skus:
            it = self.skus[m.group(1)]
            html = (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{it['name']}</title></head>"
                    f"<body><h1>{it['name']}</h1><img src=\"{it['images'][0]}\"><p>品牌：{it['brand']}</p>"
                    f"<p>型号：{it['model']}</p><p>价格：{it['price']}</p></body></html>")
            return "text/html; charset=utf-8", html.encode("utf-8")
        m = re.fullmatch(r"/invoice/(\d+)\.pdf", path)
        if m:
            with self.lock:
                oid = self.invoices.get(m.group(1))
                if oid:
                    o = self.orders[oid]
                    return "application/pdf", make_pdf([
                        "Electronic invoice (test environment)", f"Invoice no: {m.group(1)}",
                        f"Order id: {oid}", f"Amount: {o['order_price']} CNY",
                        f"Date: {fmt_time(o['confirmed_at'])}"])
        return None


ROUTES = {
    "/api/auth2/access_token": "token",
    "/api/product/get_pools": "pools",
    "/api/product/skus": "skus",
    "/api/product/getDetail": "detail",
    "/api/product/shelf_states": "shelf_states",
    "/api/product/images": "images",
    "/api/product/ratings": "ratings",
    "/api/price/getSellPrice": "prices",
    "/api/area/provinces": "provinces",
    "/api/area/cities": "cities",
    "/api/area/counties": "counties",
    "/api/product/stocks": "stocks",
    "/api/order/submitOrder": "submit",
    "/api/order/confirm": "confirm",
    "/api/order/cancel": "cancel",
    "/api/order/selectJdOrder": "select",
    "/api/order/after_sale": "after_sale",
    "/api/order/track": "track",
    "/api/order/reconcile": "reconcile",
    "/api/product/accessories": "accessories",
    "/api/order/credit_payment": "credit_payment",
    "/api/order/credit_payment_query": "credit_payment_query",
    "/api/product/warranty": "warranty",
    "/api/product/accessory_links": "accessory_links",
    "/api/promo/group_buys": "group_buys",
    "/api/promo/specials": "specials",
    "/api/promo/tiered_rates": "tiered_rates",
    "/api/order/einvoice": "einvoice",
    "/api/product/new_skus": "new_skus",
    "/api/product/changed_skus": "changed_skus",
}


def to_json_value(o):
    if isinstance(o, Decimal):
        return float(o)
    raise TypeError(f"not serialisable: {type(o)}")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "JDVopTest/2.3"

    def version_string(self):
        return self.server_version

    @property
    def app(self):
        return self.server.app

    def log_message(self, fmt, *args):
        if self.app.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks += self.rfile.read(size)
                self.rfile.readline()
            return bytes(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _params(self, body):
        params = {}
        query = urlsplit(self.path).query
        for k, v in parse_qs(query, keep_blank_values=True).items():
            params[k] = v[-1]
        ctype = self.headers.get("Content-Type", "").lower()
        text = body.decode("utf-8", errors="replace")
        if "json" in ctype and text.strip():
            try:
                obj = json.loads(text, parse_float=Decimal)
            except ValueError:
                raise Refuse("请求体不是合法的 JSON")
            if not isinstance(obj, dict):
                raise Refuse("请求体必须为 JSON 对象")
            for k, v in obj.items():
                if isinstance(v, (list, dict)):
                    params[k] = json.dumps(v, default=lambda d: str(d) if isinstance(d, Decimal) else d,
                                           ensure_ascii=False)
                elif isinstance(v, bool):
                    params[k] = "true" if v else "false"
                elif v is None:
                    params[k] = ""
                else:
                    params[k] = str(v)
        else:
            for k, v in parse_qs(text, keep_blank_values=True).items():
                params[k] = v[-1]
        return params

    def _send(self, status, ctype, body, extra=None, head=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_envelope(self, status, success, desc, result, extra=None):
        env = {"success": success, "desc": desc, "result": result if success else None}
        if "newline-in-body" in self.app.faults:
            text = json.dumps(env, ensure_ascii=False, indent=2, default=to_json_value) + "\n"
        else:
            text = json.dumps(env, ensure_ascii=False, separators=(",", ":"), default=to_json_value)
        self._send(status, "application/json;charset=UTF-8", text.encode("utf-8"), extra)

    def _handle(self, method):
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        path = urlsplit(self.path).path
        name = ROUTES.get(path)
        try:
            if name is None:
                res = self.app.static(path) if method in ("GET", "HEAD") else None
                if res is None:
                    self._send_envelope(404, False, f"接口不存在: {path}", None)
                else:
                    self._send(200, res[0], res[1], {"Cache-Control": "max-age=3600"}, head=(method == "HEAD"))
                return
            if method != "POST":
                self._send_envelope(405, False, "请求方式必须为 POST", None, {"Allow": "POST"})
                return
            try:
                params = self._params(body)
                if name != "token":
                    self.app.check_token(params)
                result = getattr(self.app, "api_" + name)(params)
                self._send_envelope(200, True, "成功", result)
            except Refuse as r:
                self._send_envelope(200, False, str(r), None)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            traceback.print_exc(file=sys.stderr)
            try:
                self._send_envelope(500, False, "系统繁忙，请稍后再试", None)
            except OSError:
                self.close_connection = True

    def do_POST(self):
        self._handle("POST")

    def do_GET(self):
        self._handle("GET")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_OPTIONS(self):
        self._handle("OPTIONS")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv=None):
    ap = argparse.ArgumentParser(description="JD-style supplier of the Tianjin mall docking interfaces (test environment)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = an ephemeral port")
    ap.add_argument("--username", default="jd-user")
    ap.add_argument("--password", default="jd-secret")
    ap.add_argument("--ship-after", type=float, default=5.0, metavar="SECONDS",
                    help="a confirmed order ships after SECONDS and is delivered after 2 x SECONDS")
    ap.add_argument("--fault", action="append", default=[], metavar="NAME",
                    help="switch on a fault (repeatable): " + ", ".join(FAULTS))
    ap.add_argument("--list-faults", action="store_true", help="list the faults and exit")
    ap.add_argument("--verbose", action="store_true", help="log requests on stderr")
    args = ap.parse_args(argv)
    if args.list_faults:
        for k, v in FAULTS.items():
            print(f"{k}\t{v}")
        return 0
    bad = [f for f in args.fault if f not in FAULTS]
    if bad:
        ap.error("unknown fault(s): " + ", ".join(bad) + "; known: " + ", ".join(FAULTS))
    if args.ship_after < 0:
        ap.error("--ship-after must be >= 0")
    httpd = Server((args.host, args.port), Handler)
    host, port = httpd.server_address[:2]
    base = f"http://{host}:{port}"
    httpd.app = Supplier(base, args.username, args.password, args.ship_after, args.fault, args.verbose)
    print(base, flush=True)
    if args.fault:
        print("faults: " + ", ".join(args.fault), file=sys.stderr, flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
