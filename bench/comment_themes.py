"""Benchmark: theme counts of a port's open comments (``feedback.themes.theme_counts``, jieba precise mode).

    .venv/bin/python bench/comment_themes.py [--comments 20000] [--repeat 3]

Pure: no database. Synthetic comments (8–40 characters) built from phrases that mention the seeded property themes
or nothing; the property lexicon as seeded. Prints comments per second of ``theme_counts`` (segmentation included)
beside the floor of the same run: the same counting with plain substring tests instead of segmentation (which
would also count 保安 in 确保安全), and the ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from feedback.themes import CommentFact, ThemeSpec, segment, theme_counts, theme_keywords  # noqa: E402

LEXICON = [("保洁", "保洁 清洁 卫生 垃圾"), ("安保", "安保 保安 门禁 治安"), ("停车", "停车 车位 车库"), ("电梯", "电梯"),
           ("绿化", "绿化 草坪 树木"), ("维修", "维修 报修 修理")]
PHRASES = ["小区停车位太少", "保洁阿姨很负责", "确保安全是第一位的", "电梯经常坏", "报修后很久才来修理", "地下车库很暗",
           "保安晚上不巡逻", "垃圾桶满了没人管", "草坪被踩坏了", "物业费太贵", "整体还算满意", "希望加强管理"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--comments", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(14)
    comments = [
        CommentFact(i, "，".join(rng.sample(PHRASES, rng.randint(1, 3))), rng.choice([None, 1, 2, 3, 4, 5]))
        for i in range(args.comments)
    ]
    themes = [ThemeSpec(name, theme_keywords(name, words)) for name, words in LEXICON]
    segment("预热", [])  # load jieba's dictionary outside the timing

    def plain_mentions(text, _vocabulary):
        return [keyword for theme in themes for keyword in theme.keywords if keyword in text]

    timings, floors = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        counted = theme_counts(comments, themes)
        timings.append(time.perf_counter() - start)
        start = time.perf_counter()
        floor = theme_counts(comments, themes, tokenize=plain_mentions)
        floors.append(time.perf_counter() - start)
    best, best_floor = min(timings), min(floors)
    print(f"comments: {args.comments}, themes: {len(themes)}")
    print(f"theme_counts (jieba): {best:.3f} s = {args.comments / best:,.0f} comments/s (median {statistics.median(timings):.3f} s)")
    print(f"floor (substring):    {best_floor:.3f} s = {args.comments / best_floor:,.0f} comments/s")
    print(f"ratio: {best / best_floor:.1f} ×")
    differ = {c.name: (c.comments, f.comments) for c, f in zip(counted, floor, strict=True) if c.comments != f.comments}
    print(f"themes where segmentation and substring counts differ (jieba, substring): {differ}")


if __name__ == "__main__":
    main()
