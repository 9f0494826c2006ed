"""Build the demo world's data files from the seed articles (deterministic).

    .venv/bin/python src/yizhan/demo/data/build_world.py

writes ``jurisdictions.geojson`` (city > district > street > community > grid, with
boundaries) and ``stations.json`` beside this script. Place names and figures come from
the five seed articles in ``shared/seeds``; coordinates are WGS-84 and approximate (the
real places at street level), boundaries are plausible rectangles, not surveys. Names of
keepers and other people are fictional. Re-running gives byte-identical files.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from shapely.geometry import Point, box, shape

HERE = Path(__file__).resolve().parent
RNG = random.Random(20261123)

# ---- the jurisdiction tree -----------------------------------------------------------
# (code, name, name_en, (min_lng, min_lat, max_lng, max_lat)) ; children listed below.
CITIES = [
    ("SZ", "苏州市", "Suzhou", (120.25, 31.10, 121.10, 31.50)),
    ("NT", "南通市", "Nantong", (120.75, 31.90, 121.00, 32.10)),
    ("XN", "咸宁市", "Xianning", (114.20, 29.78, 114.45, 29.95)),
]
DISTRICTS = {
    "SZ": [
        ("SZ-GX", "苏州高新区（虎丘区）", "Suzhou New District", (120.30, 31.22, 120.58, 31.45)),
        ("SZ-WZ", "吴中区", "Wuzhong District", (120.58, 31.20, 120.72, 31.30)),
        ("SZ-KS", "昆山市", "Kunshan", (120.85, 31.15, 121.05, 31.45)),
    ],
    "NT": [("NT-CC", "崇川区", "Chongchuan District", (120.80, 31.92, 120.95, 32.08))],
    "XN": [("XN-XA", "咸安区", "Xian'an District", (114.24, 29.80, 114.40, 29.92))],
}
STREETS = {
    "SZ-GX": [("SZ-GX-DZ", "东渚街道（苏州科技城）", "Dongzhu Street (Suzhou Science City)", (120.36, 31.30, 120.46, 31.38))],
    "SZ-WZ": [("SZ-WZ-CN", "城南街道", "Chengnan Street", (120.60, 31.24, 120.66, 31.29))],
    "SZ-KS": [
        ("SZ-KS-QD", "千灯镇", "Qiandeng Town", (120.93, 31.18, 121.02, 31.26)),
        ("SZ-KS-YS", "玉山镇", "Yushan Town", (120.92, 31.35, 121.00, 31.42)),
    ],
    "NT-CC": [("NT-CC-LS", "狼山镇街道", "Langshanzhen Street", (120.85, 31.94, 120.92, 31.99))],
    "XN-XA": [
        ("XN-XA-WQ", "温泉街道", "Wenquan Street", (114.30, 29.84, 114.36, 29.89)),
        ("XN-XA-FS", "浮山街道", "Fushan Street", (114.26, 29.84, 114.30, 29.89)),
        ("XN-XA-YA", "永安街道", "Yong'an Street", (114.30, 29.81, 114.36, 29.84)),
    ],
}
# Communities: the street's rectangle is cut into cols × rows cells, in this order.
COMMUNITIES = {
    "SZ-GX-DZ": (3, 2, [
        ("东渚社区", "Dongzhu Community"), ("山湖湾社区", "Shanhuwan Community"),
        ("彭山社区", "Pengshan Community"), ("龙惠社区", "Longhui Community"),
        ("科技城产业园社区", "Science City Industrial Park"), ("太湖光子社区", "Taihu Photonics Community"),
    ]),
    "SZ-WZ-CN": (2, 2, [
        ("红庄社区", "Hongzhuang Community"), ("龙西社区", "Longxi Community"),
        ("宝带社区", "Baodai Community"), ("南石湖社区", "Nanshihu Community"),
    ]),
    "SZ-KS-QD": (2, 1, [("淞南社区", "Songnan Community"), ("千灯社区", "Qiandeng Community")]),
    "SZ-KS-YS": (2, 1, [("崂山路社区", "Laoshan Road Community"), ("城北社区", "Chengbei Community")]),
    "NT-CC-LS": (3, 1, [
        ("易家桥社区", "Yijiaqiao Community"), ("新胜社区", "Xinsheng Community"), ("狼山社区", "Langshan Community"),
    ]),
    "XN-XA-WQ": (3, 2, [
        ("十六潭社区", "Shiliutan Community"), ("御龙社区", "Yulong Community"), ("亿丰社区", "Yifeng Community"),
        ("淦河社区", "Ganhe Community"), ("桂花社区", "Guihua Community"), ("金桂社区", "Jingui Community"),
    ]),
    "XN-XA-FS": (2, 2, [
        ("盘泗洲社区", "Pansizhou Community"), ("青龙社区", "Qinglong Community"),
        ("书台社区", "Shutai Community"), ("凤凰社区", "Fenghuang Community"),
    ]),
    "XN-XA-YA": (3, 1, [("东城社区", "Dongcheng Community"), ("南门社区", "Nanmen Community"),
                        ("学府社区", "Xuefu Community")]),
}
# Hongzhuang is 0.4 km² (seed 000); its rectangle is shrunk to about that size.
SMALL = {"红庄社区": 0.4}


def _cut(bounds, cols, rows):
    x0, y0, x1, y1 = bounds
    w, h = (x1 - x0) / cols, (y1 - y0) / rows
    for r in range(rows):
        for c in range(cols):
            yield (round(x0 + c * w, 6), round(y0 + r * h, 6), round(x0 + (c + 1) * w, 6), round(y0 + (r + 1) * h, 6))


def _shrink_to_km2(bounds, km2):
    x0, y0, x1, y1 = bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    # about 0.0095° lng and 0.009° lat per km at 31°N
    half_x, half_y = (km2 ** 0.5) * 0.0105 / 2, (km2 ** 0.5) * 0.009 / 2
    return (round(cx - half_x, 6), round(cy - half_y, 6), round(cx + half_x, 6), round(cy + half_y, 6))


def _feature(code, name, name_en, level, parent, bounds):
    poly = box(*bounds)
    coords = [[round(x, 6), round(y, 6)] for x, y in poly.exterior.coords]
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, "name_en": name_en, "level": level, "parent": parent},
        "geometry": {"type": "Polygon", "coordinates": [coords]},
    }


def build_jurisdictions():
    features, communities = [], {}
    for ccode, cname, cen, cb in CITIES:
        features.append(_feature(ccode, cname, cen, "city", None, cb))
        for dcode, dname, den, db in DISTRICTS[ccode]:
            features.append(_feature(dcode, dname, den, "district", ccode, db))
            for scode, sname, sen, sb in STREETS[dcode]:
                features.append(_feature(scode, sname, sen, "street", dcode, sb))
                cols, rows, names = COMMUNITIES[scode]
                for i, (cb2, (mname, men)) in enumerate(zip(_cut(sb, cols, rows), names, strict=True), start=1):
                    mcode = f"{scode}-C{i:02d}"
                    if mname in SMALL:
                        cb2 = _shrink_to_km2(cb2, SMALL[mname])
                    features.append(_feature(mcode, mname, men, "community", scode, cb2))
                    communities[mname] = (mcode, cb2)
                    g_cols, g_rows = (2, 2) if i % 2 else (3, 1)
                    for g, gb in enumerate(_cut(cb2, g_cols, g_rows), start=1):
                        features.append(_feature(f"{mcode}-G{g:02d}", f"{mname}第{g}网格", f"{men} Grid {g}", "grid", mcode, gb))
    return {"type": "FeatureCollection", "features": features}, communities


# ---- stations -----------------------------------------------------------------------------
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def every_day(*intervals):
    return {d: [list(iv) for iv in intervals] for d in WEEK}


H24 = every_day(("00:00", "24:00"))
DAY = every_day(("08:00", "20:00"))
LONG = every_day(("07:00", "22:00"))
OFFICE = {**{d: [["08:30", "17:30"]] for d in WEEK[:5]}, "sat": [["09:00", "16:00"]], "sun": []}
NIGHT_OWL = {**every_day(("10:00", "14:00"), ("17:00", "02:00"))}  # lunch and the late-night delivery peak
MARKET = every_day(("05:30", "19:00"))
SPRING_FESTIVAL = [
    {"date": "2027-02-05", "intervals": [["09:00", "15:00"]], "note_zh": "除夕 缩短开放"},
    {"date": "2027-02-06", "intervals": [], "note_zh": "春节 闭站一天"},
]

ALL_AMENITIES = ["phone_charging", "ebike_charging", "drinking_water", "hot_water", "toilet", "hot_meal",
                 "microwave", "fridge", "wifi", "books", "first_aid", "umbrella", "heating_cooling"]
UNITS = {"water": "瓶", "masks": "个", "disinfectant": "瓶", "chargers": "个", "books": "本",
         "umbrellas": "把", "first_aid_kit": "个"}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
GIVEN = "芳敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉玲峰建国志文斌海燕云飞"
_phone_seq = [0]


def keeper():
    _phone_seq[0] += 1
    name = RNG.choice(SURNAMES) + RNG.choice(GIVEN) + (RNG.choice(GIVEN) if RNG.random() < 0.6 else "")
    return {"name": name, "phone": f"1370000{_phone_seq[0]:04d}"}


def supplies(low: bool = False):
    items = ["water", "masks", "disinfectant", "chargers", "books", "umbrellas", "first_aid_kit"]
    out = []
    for item in items:
        threshold = {"water": 24, "masks": 50, "disinfectant": 2, "chargers": 2, "books": 10,
                     "umbrellas": 5, "first_aid_kit": 1}[item]
        quantity = RNG.randint(threshold + 1, threshold * 4)
        if low and item in ("water", "umbrellas"):
            quantity = RNG.randint(0, max(0, threshold - 1))
        out.append({"item": item, "quantity": quantity, "threshold": threshold, "unit_zh": UNITS[item]})
    return out


def point_in(bounds, fx, fy):
    x0, y0, x1, y1 = bounds
    return round(y0 + (y1 - y0) * fy, 6), round(x0 + (x1 - x0) * fx, 6)


def build_stations(communities):
    stations = []
    seq = {"n": 0}

    def add(name, name_en, type_, community, *, host_type="community", host_name="", address="",
            amenities=(), hours=DAY, hub=None, description="", opened_on="2024-06-01", fx=None, fy=None,
            low=False, holidays=None, prefix="SZ"):
        seq["n"] += 1
        code = f"ST-{prefix}-{seq['n']:04d}"
        mcode, bounds = communities[community]
        lat, lng = point_in(bounds, fx if fx is not None else RNG.uniform(0.15, 0.85),
                            fy if fy is not None else RNG.uniform(0.15, 0.85))
        stations.append({
            "code": code, "name": name, "name_en": name_en, "type": type_, "host_type": host_type,
            "host_name": host_name or community, "address": address, "lat": lat, "lng": lng,
            "community": mcode, "hub": hub, "amenities": sorted(set(amenities), key=ALL_AMENITIES.index),
            "hours": hours, "holidays": holidays or [], "supplies": supplies(low), "keeper": keeper(),
            "description_zh": description, "opened_on": opened_on,
        })
        return code

    # Suzhou Science City (seed 002): 1 hub, 4 demo sites, 11 stations — the "15-minute warm service circle".
    base = ["phone_charging", "drinking_water", "hot_water", "wifi", "first_aid", "umbrella"]
    hub = add("东渚街道为民服务中心“悦”新驿站", "Dongzhu Service Centre Hub (Yue Station)", "hub", "东渚社区",
              host_name="东渚街道为民服务中心", address="苏州高新区东渚街道为民服务中心一楼",
              amenities=base + ["ebike_charging", "toilet", "microwave", "fridge", "books", "heating_cooling"],
              hours=LONG, description="苏州科技城新就业群体服务总站：舒心歇脚、续航补给、服务代办，统筹辖区驿站物资。",
              opened_on="2023-05-01", fx=0.5, fy=0.45, holidays=SPRING_FESTIVAL)
    for name, en, community, host_type, host, addr, extra in [
        ("普洛斯物流园示范点", "GLP Logistics Park Demo Site", "科技城产业园社区", "enterprise", "普洛斯物流园",
         "苏州高新区普洛斯物流园门卫室旁", ["ebike_charging", "toilet", "microwave"]),
        ("丰茂里商业街示范点", "Fengmaoli Street Demo Site", "龙惠社区", "shop", "丰茂里商业街",
         "苏州高新区丰茂里商业街北入口", ["toilet", "hot_meal", "microwave", "heating_cooling"]),
        ("苏高新软件园示范点", "SND Software Park Demo Site", "科技城产业园社区", "enterprise", "苏高新软件园",
         "苏州高新区苏高新软件园A区", ["books", "heating_cooling", "toilet"]),
        ("太湖光子科技园光子初心分站", "Taihu Photonics Park Demo Site", "太湖光子社区", "enterprise",
         "太湖光子科技园", "苏州科技城北部太湖光子科技园", ["books", "fridge", "heating_cooling"]),
    ]:
        add(name, en, "demo", community, host_type=host_type, host_name=host, address=addr, amenities=base + extra,
            hours=DAY, hub=hub, description="示范点：矿泉水、口罩、消毒酒精、书籍、充电器一应俱全，就近服务周边外卖、快递小哥。",
            opened_on="2023-09-01")
    for name, en, community, host_type, hours, extra, low in [
        ("山湖湾社区驿站", "Shanhuwan Station", "山湖湾社区", "community", DAY, ["toilet"], False),
        ("彭山社区驿站", "Pengshan Station", "彭山社区", "community", DAY, ["ebike_charging"], True),
        ("龙惠花园驿站", "Longhui Garden Station", "龙惠社区", "property", LONG, ["heating_cooling"], False),
        ("东渚新苑驿站", "Dongzhu Xinyuan Station", "东渚社区", "property", H24, ["ebike_charging"], False),
        ("科技城便利店爱心驿站", "Science City Shop Station", "科技城产业园社区", "shop", NIGHT_OWL, ["hot_meal", "microwave"], False),
        ("山湖湾物业驿站", "Shanhuwan Property Station", "山湖湾社区", "property", DAY, ["fridge"], False),
        ("彭山商业广场驿站", "Pengshan Plaza Station", "彭山社区", "shop", LONG, ["toilet", "hot_meal"], False),
        ("龙惠社区党群驿站", "Longhui Party-Community Station", "龙惠社区", "community", OFFICE, ["books"], False),
        ("光子园区北门驿站", "Photonics Park North Gate Station", "太湖光子社区", "enterprise", H24, ["ebike_charging", "toilet"], True),
        ("科技城地铁口驿站", "Science City Metro Station Post", "东渚社区", "community", LONG, ["umbrella"], False),
        ("软件园南区驿站", "Software Park South Station", "科技城产业园社区", "enterprise", DAY, ["microwave", "heating_cooling"], False),
    ]:
        add(name, en, "station", community, host_type=host_type, address=f"苏州高新区{community}", amenities=base + extra,
            hours=hours, hub=hub, low=low, description="苏州科技城“15分钟暖心服务圈”服务站。", opened_on="2024-03-01")

    # Wuzhong Hongzhuang (seed 000): 温馨小站 — jobs and housing in one stop.
    add("“温馨小站”暖心服务驿站", "Wenxin Xiaozhan Warm Station", "station", "红庄社区", host_name="红庄社区党委",
        address="苏州市吴中区城南街道红庄社区", amenities=base + ["toilet", "hot_water", "heating_cooling", "books"],
        hours=LONG, description="红庄社区联合辖区人力资源企业打造：帮求职者联系工厂、张罗住所，“干活的地方和住的地方一次性搞定”。",
        opened_on="2023-06-15", fx=0.5, fy=0.5)
    add("红庄幸福公寓服务点", "Hongzhuang Happy Apartments Desk", "station", "红庄社区", host_type="property",
        host_name="幸福公寓运营方", address="红庄社区幸福公寓（暖心服务驿站对面）", amenities=["drinking_water", "phone_charging", "wifi"],
        hours=OFFICE, description="幸福公寓服务点：30幢楼、500余套房间的入住咨询。", fx=0.7, fy=0.6)

    # Kunshan (seed 001): 暖"新"驿站 across the city, "社区+驿站""物业+驿站""商铺+驿站".
    warm = ["phone_charging", "ebike_charging", "drinking_water", "wifi", "books", "first_aid", "heating_cooling"]
    add("淞南社区暖“新”驿站", "Songnan Warm Station", "warm", "淞南社区", host_name="淞南社区",
        address="昆山市千灯镇淞南社区党群服务中心", amenities=warm + ["hot_water", "toilet"], hours=LONG,
        description="空间不大却“五臟俱全”：充电桩、直饮水、无线网、图书角、医疗包；冬天室温保持20℃。",
        opened_on="2025-11-15", holidays=SPRING_FESTIVAL)
    add("千灯古镇商铺暖“新”驿站", "Qiandeng Shop Warm Station", "warm", "千灯社区", host_type="shop",
        host_name="千灯古镇商户联盟", address="昆山市千灯镇", amenities=warm + ["hot_meal", "microwave"], hours=NIGHT_OWL)
    add("昆山劳动者服务中心零工驿站", "Kunshan Workers' Service Centre", "gig", "崂山路社区", host_name="昆山人力资源市场",
        address="昆山市崂山路9号", amenities=["drinking_water", "phone_charging", "wifi", "toilet", "heating_cooling"],
        hours=OFFICE, description="约120平方米的大厅：企业招聘展台、政策咨询、困难帮扶；“人人帮”零工市场线下服务点。",
        opened_on="2022-03-01")
    add("城北物业暖“新”驿站", "Chengbei Property Warm Station", "warm", "城北社区", host_type="property",
        host_name="城北花园物业", address="昆山市玉山镇城北社区", amenities=warm, hours=H24, low=True)
    add("玉山商务楼宇暖“新”驿站", "Yushan Office Tower Warm Station", "warm", "崂山路社区", host_type="enterprise",
        host_name="楼宇党群服务站", address="昆山市玉山镇商务楼宇一层", amenities=warm + ["microwave", "fridge"], hours=DAY)

    # Nantong Langshan (seed 003): 小蜜蜂加油站, 零工驿站, 红骑手 classes.
    add("崇川“小蜜蜂”加油站", "Chongchuan Little Bee Station", "station", "易家桥社区", host_name="易家桥社区",
        address="南通市崇川区狼山镇街道易家桥社区", amenities=base + ["ebike_charging", "books", "toilet"], hours=LONG,
        description="歇脚休息、物资补给、续航加油、学习阅读、信息分享；定期开展“暖新问需会”。", prefix="NT")
    add("狼山镇街道零工驿站", "Langshan Gig Station", "gig", "新胜社区", host_name="狼山镇街道",
        address="南通市崇川区狼山镇街道党群服务中心", amenities=["drinking_water", "phone_charging", "wifi", "books"],
        hours=OFFICE, description="线上线下协同：为企业解决用工需求，为新就业群体提供就业指导、技能培训、维权咨询。", prefix="NT")
    add("狼山社区“红骑手”驿站", "Langshan Red Rider Station", "station", "狼山社区", host_type="enterprise",
        host_name="南通润达营销策划有限公司", address="南通市崇川区狼山社区", amenities=base + ["hot_meal"], hours=NIGHT_OWL,
        low=True, prefix="NT")

    # Xianning Xian'an (seed 004): 120 red stations incl. the red bus, Wanda, the farmers' market.
    red = ["phone_charging", "drinking_water", "wifi", "first_aid", "umbrella", "heating_cooling"]
    specials = [
        ("万达商圈红色驿站", "Wanda Plaza Red Station", "red", "十六潭社区", "shop", "万达广场",
         "商场通道改造成的红色驿站，附近新就业形态劳动者200余人。", red + ["toilet", "microwave"], LONG),
        ("盘泗洲社区“红色巴士”", "Pansizhou Red Bus", "bus", "盘泗洲社区", "community", "盘泗洲社区",
         "居民捐赠的闲置公交车改造的“解忧万事屋”：社情民意收集、支部活动、休闲娱乐。", ["phone_charging", "drinking_water", "books"], DAY),
        ("亿丰农商贸市场红色驿站", "Yifeng Market Red Station", "red", "亿丰社区", "shop", "亿丰农商贸市场",
         "设在菜市场里，定期召开党员群众座谈会，收集意见建议30余条、解决18条。", red + ["toilet"], MARKET),
        ("御龙花园红色驿站", "Yulong Garden Red Station", "red", "御龙社区", "property", "御龙花园物业",
         "居民捐出自家冰箱，方便来往小哥。", red + ["fridge", "microwave"], LONG),
        ("青龙社区红色驿站", "Qinglong Red Station", "red", "青龙社区", "community", "青龙社区",
         "流动党员在驿站过组织生活。", red + ["books"], DAY),
    ]
    for name, en, type_, community, host_type, host, desc, amen, hrs in specials:
        add(name, en, type_, community, host_type=host_type, host_name=host, address=f"咸宁市咸安区{community}",
            amenities=amen, hours=hrs, description=desc, opened_on="2025-10-15", prefix="XN")
    xn_communities = [c for c in communities if communities[c][0].startswith("XN-")]
    kinds = [("小区", "property"), ("社区", "community"), ("商圈", "shop"), ("楼宇", "enterprise"), ("市场", "shop")]
    for n in range(len(specials), 120):
        community = xn_communities[n % len(xn_communities)]
        label, host_type = RNG.choice(kinds)
        amen = RNG.sample(ALL_AMENITIES, RNG.randint(3, 8))
        hrs = RNG.choice([DAY, DAY, LONG, H24, OFFICE, NIGHT_OWL])
        add(f"{community.removesuffix('社区')}{label}红色驿站{n - len(specials) + 1:03d}",
            f"Xian'an Red Station {n + 1:03d}", "red", community, host_type=host_type,
            host_name=f"{community}{label}", address=f"咸宁市咸安区{community}", amenities=amen, hours=hrs,
            low=RNG.random() < 0.08, opened_on=f"2025-{RNG.randint(10, 12):02d}-{RNG.randint(1, 28):02d}", prefix="XN")
    return stations


def main():
    geo, communities = build_jurisdictions()
    stations = build_stations(communities)
    # every station inside its community's polygon; every child inside its parent
    polys = {f["properties"]["code"]: shape(f["geometry"]) for f in geo["features"]}
    for f in geo["features"]:
        parent = f["properties"]["parent"]
        if parent:
            assert polys[parent].buffer(1e-9).contains(polys[f["properties"]["code"]]), f["properties"]["code"]
    for s in stations:
        assert polys[s["community"]].contains(Point(s["lng"], s["lat"])), s["code"]
    (HERE / "jurisdictions.geojson").write_text(json.dumps(geo, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    (HERE / "stations.json").write_text(json.dumps(stations, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    levels: dict[str, int] = {}
    for f in geo["features"]:
        levels[f["properties"]["level"]] = levels.get(f["properties"]["level"], 0) + 1
    types: dict[str, int] = {}
    for s in stations:
        types[s["type"]] = types.get(s["type"], 0) + 1
    print("jurisdictions", levels, "stations", len(stations), types)


if __name__ == "__main__":
    main()
