"""Open comments of the demo waves: what owners wrote beside their scores (seed_demo writes them).

The 2026 annual wave asks the standard questionnaire plus one open question per port and a general one
(questionnaire ``standard-open``); the 2025 callback wave asks the headline items plus the general question
(``headline-open``). About three owners in ten write something, more of them when they scored a port low.

Deterministic (its own seeded generator, so the scores of ``demo.surveys`` stay exactly as they were) and pure:
``demo_comments`` reads the demo data set and returns texts. A comment talks about one port: its themes come from
the seeded theme lexicon of that port (``feedback`` migration 0005: 物业 保洁, 安保, 停车 …; 工程 渗漏, 裂缝 …), its
tone from the owner's score of that port (≤ 2 a complaint, 3 a reservation, ≥ 4 praise; the overall score when
the port was not scored). A few of the worst complaints hold a word of the keyword alert rule (漏水, 投诉, 维权,
媒体, 12345 …); ordinary ones avoid those words (渗漏 rather than 漏水), so the alert inbox stays small.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from surveys.answers import decode_answers
from surveys.questionnaires import HEADLINE_ONLY, STANDARD

SEED = 20260403
GENERAL = "comment"  # the general question's code (the online form's first comment field is named so anyway)


@dataclass(frozen=True)
class CommentQuestion:
    code: str
    label: str
    port: str  # "" = a general question


PORT_QUESTIONS = (
    CommentQuestion("design_comment", "您对规划设计还有哪些意见或建议？", "design"),
    CommentQuestion("engineering_comment", "您对工程质量还有哪些意见或建议？", "engineering"),
    CommentQuestion("sales_comment", "您对销售服务还有哪些意见或建议？", "sales"),
    CommentQuestion("service_comment", "您对客户服务还有哪些意见或建议？", "service"),
    CommentQuestion("property_comment", "您对物业管理还有哪些意见或建议？", "property"),
)
GENERAL_QUESTION = CommentQuestion(GENERAL, "您对我们还有什么其他意见或建议？", "")


@dataclass(frozen=True)
class OpenQuestionnaire:
    code: str
    name: str
    base: str  # the questionnaire whose score items come first
    comments: tuple[CommentQuestion, ...]


QUESTIONNAIRES = {
    "standard-open": OpenQuestionnaire("standard-open", "标准问卷（含开放意见）", "standard", (*PORT_QUESTIONS, GENERAL_QUESTION)),
    "headline-open": OpenQuestionnaire("headline-open", "核心指标问卷（含开放意见）", "headline", (GENERAL_QUESTION,)),
}
SCORE_ITEMS = {"standard": STANDARD, "headline": HEADLINE_ONLY}

# Which port a comment is about when the owner has no clearly weak port: property and engineering most often.
PORT_SHARE = {"property": 0.34, "engineering": 0.30, "service": 0.13, "design": 0.12, "sales": 0.11}
# Themes a project's owners bring up more (the story of demo.surveys and demo.feedback).
THEME_BOOST = {
    ("GZ-TH01", "property"): {"维修": 3.0, "保洁": 2.0, "电梯": 2.0},
    ("SZ-BA01", "engineering"): {"渗漏": 3.0, "裂缝": 2.5},
    ("SZ-JY02", "engineering"): {"空鼓": 2.0, "门窗": 1.5},
    ("GZ-PY01", "sales"): {"承诺": 3.0},
}

LOW, MIDDLE, HIGH = "low", "middle", "high"

# (port, theme) -> texts by tone. Every text mentions its theme (tests/test_seed_demo_comments.py checks it with
# the real lexicon and segmenter) and none holds a word of the default keyword alert rule.
TEXTS: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {
    ("property", "保洁"): {
        LOW: ("楼道保洁不到位，垃圾经常堆到第二天才清走", "垃圾桶满了没人清理，夏天味道很大", "地下室卫生很差，保洁基本不来"),
        MIDDLE: ("保洁还可以，希望垃圾分类点多清理几次", "公共区域清洁一般，周末明显差一些"),
        HIGH: ("保洁阿姨很负责，楼道每天都打扫得很干净", "小区卫生搞得好，垃圾清运很准时"),
    },
    ("property", "安保"): {
        LOW: ("保安形同虚设，外来人员随便进出", "门禁坏了一个多月没人管，晚上不安全"),
        MIDDLE: ("保安巡逻可以再勤一些", "门禁有时刷不开，希望尽快升级"),
        HIGH: ("保安很负责，进出都会核实登记", "门禁管理严格，住着很安心"),
    },
    ("property", "停车"): {
        LOW: ("地下车库灯坏了好几盏，停车很不安全", "车位经常被外来车辆占用，物业不管"),
        MIDDLE: ("停车场指引不清楚，希望增加标识",),
        HIGH: ("车库管理有序，停车很方便", "访客停车登记很规范，车位也够用"),
    },
    ("property", "电梯"): {
        LOW: ("电梯三天两头坏，老人上下楼很困难", "电梯故障停运好几天都没人管"),
        MIDDLE: ("早高峰电梯要等很久，希望调整运行", "电梯偶尔有异响，希望多检查"),
        HIGH: ("电梯保养得好，很少出故障", "电梯轿厢每天都有人擦，很干净"),
    },
    ("property", "绿化"): {
        LOW: ("草坪大片枯黄，绿化很久没人打理", "树木长期不修剪，枝叶都伸到窗边了"),
        MIDDLE: ("绿化还行，希望多种些花",),
        HIGH: ("小区绿化养护得很好，环境优美", "树木修剪得整齐，四季都有花"),
    },
    ("property", "维修"): {
        LOW: ("报修三天都没人上门，打电话也推来推去", "公共设施坏了报修很多次都没修好", "维修师傅上门不准时，修完还要再修"),
        MIDDLE: ("维修师傅手艺不错，就是要等比较久",),
        HIGH: ("报修后师傅当天就上门，维修很专业", "维修师傅很耐心，修好后还帮忙收拾干净"),
    },
    ("engineering", "渗漏"): {
        LOW: ("卫生间渗漏到楼下，修了两次还没解决", "外墙渗漏，下雨天卧室墙角发霉", "阳台渗漏，木地板都泡坏了"),
        MIDDLE: ("窗台有轻微渗漏，希望保修期内处理好",),
        HIGH: ("交房前做了闭水试验，住了一年没有渗漏",),
    },
    ("engineering", "裂缝"): {
        LOW: ("客厅墙面多处开裂，担心房屋质量", "外墙裂缝越来越长，一直没给说法"),
        MIDDLE: ("墙角有细小裂缝，希望安排人来看看",),
        HIGH: ("房子住了两年没发现裂缝，质量放心",),
    },
    ("engineering", "空鼓"): {
        LOW: ("地砖空鼓面积很大，踩上去咚咚响", "厨房墙砖空鼓，已经有几块松了"),
        MIDDLE: ("有几块地砖空鼓，已经登记等待处理",),
        HIGH: ("地面铺贴平整，没有空鼓",),
    },
    ("engineering", "墙面"): {
        LOW: ("墙皮大面积脱落，刚住一年就要重新刷", "墙面起皮发霉，影响居住"),
        MIDDLE: ("墙面有些不平，整体还能接受",),
        HIGH: ("墙面平整，装修质量比预期好",),
    },
    ("engineering", "门窗"): {
        LOW: ("窗户密封不严，台风天雨水往屋里灌", "入户门变形关不上，门窗质量太差"),
        MIDDLE: ("窗户隔音一般，希望更换密封条",),
        HIGH: ("门窗质量好，隔音效果不错",),
    },
    ("design", "户型"): {
        LOW: ("户型浪费面积多，过道太长",),
        MIDDLE: ("户型总体合理，储物空间少了点",),
        HIGH: ("户型方正，南北通透，住着很舒服",),
    },
    ("design", "采光"): {
        LOW: ("楼间距太小，低层几乎没有采光",),
        MIDDLE: ("客厅光线一般，下午才有阳光",),
        HIGH: ("采光很好，全天都很亮堂",),
    },
    ("design", "配套"): {
        LOW: ("周边商业配套太少，买菜都要开车",),
        MIDDLE: ("配套在慢慢完善，希望早点开通公交",),
        HIGH: ("社区配套齐全，生活方便",),
    },
    ("design", "景观"): {
        LOW: ("园林景观和效果图差距很大",),
        MIDDLE: ("景观还不错，希望多些儿童游乐设施",),
        HIGH: ("园林景观做得漂亮，散步很舒服",),
    },
    ("sales", "承诺"): {
        LOW: ("销售时承诺的学位没有兑现", "宣传的地铁接驳至今没有开通，和当初说的不一样"),
        MIDDLE: ("大部分承诺都兑现了，个别细节还在跟进",),
        HIGH: ("销售承诺都兑现了，值得信赖",),
    },
    ("sales", "合同"): {
        LOW: ("合同补充条款没讲清楚，签完才发现问题",),
        MIDDLE: ("合同条款较多，希望签约时讲解更细",),
        HIGH: ("签合同流程清楚，条款解释很耐心",),
    },
    ("sales", "交付"): {
        LOW: ("交房一再延期，也没有合理解释",),
        MIDDLE: ("交付流程有点繁琐，排队时间长",),
        HIGH: ("交房流程顺畅，一次就收好了",),
    },
    ("sales", "销售人员"): {
        LOW: ("置业顾问签约后就联系不上了",),
        MIDDLE: ("销售人员后续跟进少了一些",),
        HIGH: ("置业顾问很专业，有问必答",),
    },
    ("service", "响应"): {
        LOW: ("反映问题后一直没人回复，等了半个月", "客服热线经常打不通，回复也很慢"),
        MIDDLE: ("回复速度还可以，希望处理结果能及时告知",),
        HIGH: ("客服响应很及时，问题当天就有人跟进",),
    },
    ("service", "态度"): {
        LOW: ("客服态度冷淡，问什么都说不清楚",),
        MIDDLE: ("客服态度还行，专业性有待提高",),
        HIGH: ("客服态度很好，说话耐心",),
    },
    ("service", "回访"): {
        LOW: ("说好的回访一直没有人来",),
        MIDDLE: ("回访有点走形式，希望真正解决问题",),
        HIGH: ("每次报事后都有回访，很贴心",),
    },
}  # fmt: skip

# The worst complaints: each holds a word of the keyword alert rule (and still names its theme).
ALERT_TEXTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("property", "停车"): ("地下车库漏水严重，投诉多次无人处理",),
    ("property", "电梯"): ("电梯多次困人，再不解决就打12345反映",),
    ("property", "维修"): ("报修半年都没修好，已经打了12345",),
    ("property", "保洁"): ("垃圾堆在楼下一个星期没人清，已经拍视频发给媒体",),
    ("engineering", "渗漏"): ("顶楼漏水一年多没修好，业主准备集体维权", "卫生间渗水到楼下，再拖就找律师起诉"),
    ("engineering", "裂缝"): ("房屋开裂严重，要求退房", "外墙大面积开裂，业主准备联合维权"),
    ("engineering", "门窗"): ("窗户密封不严，一下雨就漏水，报了几次都没人管",),
    ("sales", "承诺"): ("虚假宣传，已经向媒体反映",),
    ("sales", "交付"): ("交房延期半年，业主准备起诉",),
    ("service", "投诉"): ("投诉处理拖了两个月，准备找媒体曝光", "投诉三次都没有结果，只能打12345了"),
}
# Endings an owner adds to an ordinary comment, by tone (no theme keyword, no alert word: tests check both).
ENDINGS = {
    LOW: ("", "", "，希望尽快解决", "，请重视", "，已经反映过好几次了", "，非常失望", "，希望给个说法"),
    MIDDLE: ("", "", "，还有提升空间", "，整体还可以", "，期待改善"),
    HIGH: ("", "", "，点赞！", "，辛苦了", "，继续保持", "，谢谢", "，很满意"),
}

# The general question: about the company as a whole, by the overall score (no theme of any port).
GENERAL_TEXTS = {
    LOW: ("整体体验很差，问题反映了很多次都解决不了", "对公司越来越失望，不会再推荐朋友来买"),
    MIDDLE: ("整体一般，希望公司多听听业主的声音", "有进步，但离期望还有差距"),
    HIGH: ("整体很满意，会推荐给亲友", "住得很舒心，感谢各部门的付出", "比去年有明显进步，继续保持"),
}

WRITE_SHARE = 0.25  # owners who write something although no port is scored low …
WRITE_SHARE_UNHAPPY = 0.45  # … and those who scored some port ≤ 2
ALERT_SHARE = {1: 0.15, 2: 0.04}  # a complaint holding an alert word, by the port's score
SECOND_PORT_SHARE = 0.3
GENERAL_SHARE = 0.25


def _tone(score: int | None) -> str:
    if score is None:
        return MIDDLE
    return LOW if score <= 2 else MIDDLE if score == 3 else HIGH


def _port_text(rand: random.Random, *, project: str, port: str, score: int | None) -> str:
    tone = _tone(score)
    if tone == LOW and rand.random() < ALERT_SHARE.get(score, 0.0):
        themes = [theme for (p, theme) in ALERT_TEXTS if p == port]
        if themes:
            return rand.choice(ALERT_TEXTS[(port, rand.choice(themes))])
    themes = [theme for (p, theme) in TEXTS if p == port]
    boost = THEME_BOOST.get((project, port), {})
    theme = rand.choices(themes, weights=[boost.get(theme, 1.0) for theme in themes])[0]
    return rand.choice(TEXTS[(port, theme)][tone]) + rand.choice(ENDINGS[tone])


def _response_comments(
    rand: random.Random, *, project: str, scores: dict[str, int | None], questions: tuple[CommentQuestion, ...]
) -> dict[str, str]:
    port_questions = {q.port: q.code for q in questions if q.port}
    general = next((q.code for q in questions if not q.port), None)
    overall = scores.get("overall")
    port_scores = {port: scores.get(port) for port in PORT_SHARE}
    answered = {port: s for port, s in port_scores.items() if s is not None}
    unhappy = any(s <= 2 for s in answered.values())
    if rand.random() >= (WRITE_SHARE_UNHAPPY if unhappy else WRITE_SHARE):
        return {}
    comments: dict[str, str] = {}
    # The port the owner writes about: their weakest one when it is weak, otherwise as owners usually do.
    weakest = min(answered, key=lambda port: (answered[port], list(PORT_SHARE).index(port))) if answered else None
    if weakest is not None and answered[weakest] <= 3 and rand.random() < 0.8:
        first = weakest
    else:
        first = rand.choices(list(PORT_SHARE), weights=list(PORT_SHARE.values()))[0]
    ports = [first]
    if rand.random() < SECOND_PORT_SHARE:
        other = [port for port in PORT_SHARE if port != first]
        ports.append(rand.choices(other, weights=[PORT_SHARE[port] for port in other])[0])
    texts = []
    for port in ports:
        score = answered.get(port, overall)
        if port_questions:
            if port not in answered and port in port_scores:  # an item left blank: nothing to say about it
                continue
            comments[port_questions[port]] = _port_text(rand, project=project, port=port, score=score)
        else:
            texts.append(_port_text(rand, project=project, port=port, score=score))
    if general is not None:
        if texts:  # a headline-only wave: everything goes into the general question
            comments[general] = "；".join(texts)
        elif not comments or rand.random() < GENERAL_SHARE:
            comments[general] = rand.choice(GENERAL_TEXTS[_tone(overall)])
    return comments


def demo_comments(data, waves) -> dict[str, dict[int, dict[str, str]]]:
    """{wave code: {index of the response in ``data.responses[code]``: {comment question code: text}}} for the
    waves (``demo.surveys.DemoSurvey``) whose questionnaire is one of ``QUESTIONNAIRES``."""
    rand = random.Random(SEED)
    found: dict[str, dict[int, dict[str, str]]] = {}
    for wave in waves:
        spec = QUESTIONNAIRES.get(wave.questionnaire)
        if spec is None:
            continue
        codes = [item.code for item in SCORE_ITEMS[spec.base]]
        by_response = {}
        for index, response in enumerate(data.responses[wave.code]):
            scores = decode_answers(codes, response.answers)
            project = data.owners[response.owner].project
            comments = _response_comments(rand, project=project, scores=scores, questions=spec.comments)
            if comments:
                by_response[index] = comments
        found[wave.code] = by_response
    return found
