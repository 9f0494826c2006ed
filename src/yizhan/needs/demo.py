"""Demo needs from the seeds, through the needs services (called by demo/services.py).

* Xian'an, 亿丰社区 (seed 004): the red station in the 亿丰 farm-produce market holds
  party-member and public forums — "收集意见和建议30余条，已解决流动菜农的管理和自贸区设置等18条事项":
  30 needs collected at three forums, 18 solved.
* Nantong, 狼山镇街道 (seed 003): "暖新问需会" by trade at the 小蜜蜂 stations — riders and couriers.
* Suzhou Science City (seed 002): at a forum a rider asked for accident insurance; it was solved.
* Xian'an (seed 004): suggestion box and wish wall ("设置意见箱、心愿墙收集意见"); the youth room the
  Youth League built and the fridge a 御龙花园 resident gave come true on the wall.

Idempotent: nothing is added when a demo forum already exists.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from yizhan.accounts.models import RoleGrant, User
from yizhan.core.permissions import ADMINS
from yizhan.jurisdictions.models import Jurisdiction
from yizhan.needs import services
from yizhan.needs.models import Forum

YIFENG_SOLVED = [
    "流动菜农无固定摊位，希望统一管理", "市场外设置临时自贸区", "早市时段电动车乱停", "市场公厕夜间不开放",
    "雨天市场积水", "驿站饮水机不够用", "菜农子女放学无人看管", "市场内手机信号差", "垃圾清运不及时",
    "冷库租金过高", "市场照明不足", "缺少休息座椅", "希望开展食品安全培训", "摊位费收取不透明",
    "希望增加电动车充电桩", "驿站开放时间太短", "夏季缺少防暑降温物资", "希望有法律咨询",
]
YIFENG_IN_PROGRESS = ["市场消防通道被占用", "菜农医保异地报销难", "市场周边道路破损", "希望开设夜校学电脑",
                      "驿站空调损坏", "摊位转让无规范"]
YIFENG_OPEN = ["停车场收费偏高", "希望有母婴室", "市场广播噪音大", "老人行动不便需要帮扶"]
YIFENG_DECLINED = [("希望免除全部摊位费", "摊位费由市场经营方依合同收取，已协调减免困难菜农三个月"),
                   ("在市场内建幼儿园", "场地不符合办园条件，已推荐就近公办幼儿园")]

LANGSHAN = [
    ("外卖骑手", "暖新问需会（外卖骑手专场）", [
        ("小区门禁不让骑手进，送餐要绕路", "solved", "与物业约定骑手登记后可进入，已在 6 个小区试行"),
        ("电动车充电难、充电贵", "in_progress", ""),
        ("午休找不到地方", "solved", "“小蜜蜂”驿站中午开放，增设 10 张折叠床"),
        ("暑假孩子无人看管", "open", ""),
    ]),
    ("快递员", "暖新问需会（快递员专场）", [
        ("快递车临时停靠常被贴罚单", "in_progress", ""),
        ("希望有劳动权益咨询", "solved", "“红骑手”公益课堂联合律所每月开展维权咨询"),
        ("冬天驿站没有热水", "solved", "驿站新增热水器一台"),
    ]),
]

SUGGESTIONS = [
    ("XN-XA-WQ-C01", "station", "希望驿站晚上开到十点，夜班骑手也能歇脚", "adopt", "已采纳，十六潭社区驿站下月起延长至22:00"),
    ("XN-XA-WQ-C01", "education", "暑假孩子没人带，能不能办个暑托班", "to_need", "已转为需求，团区委正在筹备暑托班"),
    ("XN-XA-FS-C01", "transport", "红色巴士附近的路口红绿灯太短，骑电动车过不去", "reply", "已转交交警部门评估"),
    ("XN-XA-WQ-C02", "rights", "被平台扣款不知道找谁申诉", None, ""),
    ("XN-XA-WQ-C03", "employment", "想找晚上的零工，哪里有信息", "reply", "亿丰社区零工驿站每周二、五发布零工信息"),
    ("NT-CC-LS-C01", "housing", "刚来南通，想找便宜的短租床位", None, ""),
    ("SZ-GX-DZ-C01", "station", "驿站的充电柜经常满，希望再加几个", "close", "已增加充电柜 2 组，谢谢您的建议"),
    ("SZ-WZ-CN-C01", "other", "希望多组织骑手之间的交流活动", None, ""),
]

WISHES = [
    ("XN-XA-WQ-C01", "希望驿站里有孩子们能学习、玩耍的地方", "fulfilled", "团区委", "在红色驿站内建成青少年活动室，开设科普、艺术、自护课程"),
    ("XN-XA-WQ-C02", "夏天希望驿站有个冰箱，能放点水和饭", "fulfilled", "御龙花园小区居民", "居民把自家冰箱捐给了驿站"),
    ("XN-XA-WQ-C03", "希望驿站能有一台微波炉热饭", "fulfilling", "爱心商家 亿丰超市", "已认领，下周送到"),
    ("XN-XA-FS-C01", "下雨天希望有雨衣可以借", "public", "", ""),
    ("NT-CC-LS-C01", "希望有人教我们用手机办社保", "public", "", ""),
    ("SZ-GX-DZ-C01", "想学电工，考个证", "public", "", ""),
    ("SZ-WZ-CN-C01", "希望过年能和家人视频的时候网快一点", "pending", "", ""),
]


def _node(code):
    return Jurisdiction.objects.filter(code=code).first()


def _owner(node, fallback):
    """The nearest admin on the node or above it (the demo has community admins where stations are)."""
    grants = RoleGrant.objects.filter(role__in=ADMINS).select_related("user", "jurisdiction")
    best = None
    for g in grants:
        if node.path.startswith(g.jurisdiction.path) and (best is None or g.jurisdiction.depth > best.jurisdiction.depth):
            best = g
    return best.user if best else fallback


def _workers(node, n):
    qs = User.objects.filter(worker_profile__isnull=False).order_by("phone")
    local = list(qs.filter(worker_profile__home_community=node)[:n]) if node else []
    return local or list(qs[:n])


def _forum_needs(admin, forum, owner, items, *, today):
    for i, (title, state, resolution) in enumerate(items):
        due = forum.held_on + dt.timedelta(days=30 if state != "open" else 5 + i * 10)
        need = services.need_create(actor=admin, forum=forum, title=title, owner=owner, due_on=due)
        if state == "solved":
            services.need_solve(actor=admin, need=need, note=resolution or "已办结")
        elif state == "in_progress":
            services.need_start(actor=admin, need=need, note="已对接相关部门")
            if due < today:
                services.need_reassign(actor=admin, need=need, due_on=today + dt.timedelta(days=15 + i),
                                       note="延长办理期限")
        elif state == "declined":
            services.need_decline(actor=admin, need=need, note=resolution)


def needs_demo_load(*, admin, stdout=None) -> dict:
    """Forums, needs, suggestions and wishes from the seeds. Returns counts."""
    say = (lambda msg: stdout.write(msg)) if stdout else (lambda msg: None)
    if Forum.objects.filter(title__startswith="【演示】").exists():
        return {"forums": Forum.objects.count(), "created": False}
    today = timezone.localdate()
    with transaction.atomic():
        yifeng = _node("XN-XA-WQ-C03")
        if yifeng is not None:
            owner = _owner(yifeng, admin)
            rows = ([(t, "solved", "已办结") for t in YIFENG_SOLVED] + [(t, "in_progress", "") for t in YIFENG_IN_PROGRESS]
                    + [(t, "open", "") for t in YIFENG_OPEN] + [(t, "declined", r) for t, r in YIFENG_DECLINED])
            rows[0] = (rows[0][0], "solved", "在市场东侧划定流动菜农疏导点，统一登记管理")
            rows[1] = (rows[1][0], "solved", "设置早市自贸区，菜农免费摆卖")
            for k, start in enumerate((0, 12, 22)):
                end = (12, 22, 30)[k]
                forum = services.forum_create(
                    actor=admin, held_on=today - dt.timedelta(days=120 - 40 * k), group="流动菜农、市场商户、党员群众",
                    jurisdiction=yifeng, attendees=(26, 31, 24)[k], hosts="亿丰社区党委书记、市场党支部书记",
                    title=f"【演示】亿丰市场党员群众座谈会（第{k + 1}次）", venue="亿丰农商贸市场红色驿站",
                    notes="定期召开党员群众座谈会，面对面收集意见和建议。",
                )
                _forum_needs(admin, forum, owner, rows[start:end], today=today)
        street = _node("NT-CC-LS")
        community = _node("NT-CC-LS-C01") or street
        if community is not None:
            owner = _owner(community, admin)
            for k, (group, title, items) in enumerate(LANGSHAN):
                forum = services.forum_create(
                    actor=admin, held_on=today - dt.timedelta(days=60 - 25 * k), group=group, jurisdiction=community,
                    attendees=(18, 14)[k], hosts="街道党工委委员、社区书记", title=f"【演示】{title}",
                    venue="“小蜜蜂”驿站", notes="分行业、分类别听取困难和需求，征集社区治理建议。",
                )
                _forum_needs(admin, forum, owner, items, today=today)
        kx = _node("SZ-GX-DZ-C01")
        if kx is not None:
            forum = services.forum_create(
                actor=admin, held_on=today - dt.timedelta(days=45), group="外卖骑手、快递员（党员）", jurisdiction=kx,
                attendees=20, hosts="东渚街道党工委", title="【演示】新业态新就业群体座谈会", venue="科技城服务总站",
            )
            _forum_needs(admin, forum, _owner(kx, admin), [
                ("希望有一份意外险的保障", "solved", "为辖区新业态新就业群体党员送上个人意外险“大礼包”"),
                ("送餐高峰园区内找不到停车点", "in_progress", ""),
            ], today=today)

        for code, category, text, outcome, reply in SUGGESTIONS:
            node = _node(code)
            if node is None:
                continue
            author = (_workers(node, 1) or [None])[0]
            s = services.suggestion_submit(actor=author, text=text, category=category, jurisdiction=node,
                                           is_anonymous=category == "rights")
            if outcome == "to_need":
                services.suggestion_answer(actor=admin, suggestion=s, outcome=outcome, reply=reply,
                                           owner=_owner(node, admin), due_on=today + dt.timedelta(days=40))
            elif outcome:
                services.suggestion_answer(actor=admin, suggestion=s, outcome=outcome, reply=reply)

        for i, (code, text, state, fulfiller, note) in enumerate(WISHES):
            node = _node(code)
            if node is None:
                continue
            people = _workers(node, 8)
            if not people:
                continue
            wish = services.wish_submit(actor=people[0], text=text, jurisdiction=node)
            if state == "pending":
                continue
            services.wish_approve(actor=admin, wish=wish)
            for supporter in people[1: 1 + (7 - i) % 8]:
                services.wish_support(actor=supporter, wish=wish)
            if state == "fulfilling":
                services.wish_fulfilling(actor=admin, wish=wish, fulfiller=fulfiller, note=note)
            elif state == "fulfilled":
                services.wish_fulfilled(actor=admin, wish=wish, fulfiller=fulfiller, note=note)
    say(f"needs: {Forum.objects.count()} forums")
    return {"forums": Forum.objects.count(), "created": True}
