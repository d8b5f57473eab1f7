"""Themes of open comments per port (procedure §5.2 "research bases"): which themes owners write about, how
often, examples, and how many of those owners scored the port low.

The rule, kept pure in ``theme_counts``:

* A comment is read for a port when its question belongs to that port or to no port (a general comment).
* jieba segments the comment (precise mode, the lexicon's keywords added to its dictionary, no HMM guessing).
  A theme is *mentioned* when one of its keywords (the theme's name counts as one) is a word of the comment, or
  the start or the end of one (停车位 mentions 停车 and 车位; 垃圾桶 mentions 垃圾; 确保安全 does not mention 保安).
* Per theme: ``comments`` = comments mentioning it; ``owners`` = distinct responses (one per owner and survey)
  with such a comment; ``scored`` = those of them who scored the port's overall item; ``low`` = those who scored
  it ≤ 2 (不满意 or 很不满意). The share of low scores is ``low / scored`` (None when nobody scored it).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Count, Max

from feedback.models import CommentTheme
from surveys.answers import answer_codes, decode_answers
from surveys.models import Question, QuestionKind, ResponseComment, Survey

LOW_SCORE_MAX = 2
EXAMPLES = 3
_SEPARATORS = re.compile(r"[\s,，、;；/]+")


@dataclass(frozen=True)
class ThemeSpec:
    name: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class CommentFact:
    response_id: int
    text: str
    port_score: int | None  # the owner's score of the port's overall item; None = not answered


@dataclass
class ThemeCount:
    name: str
    keywords: tuple[str, ...]
    comments: int = 0
    owners: int = 0
    scored: int = 0
    low: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def low_share(self) -> float | None:
        return self.low / self.scored if self.scored else None


def theme_keywords(name: str, keywords: str) -> tuple[str, ...]:
    """The theme's name and its keywords, split on commas, 顿号, semicolons, slashes or spaces, each once."""
    words = [name.strip(), *_SEPARATORS.split(keywords or "")]
    return tuple(dict.fromkeys(word for word in words if word))


_tokenizer = None
_tokenizer_lock = threading.Lock()


def segment(text: str, vocabulary: Iterable[str] = ()) -> list[str]:
    """jieba's precise-mode words of ``text`` (no HMM), with ``vocabulary`` added to its dictionary."""
    global _tokenizer
    import jieba

    with _tokenizer_lock:
        if _tokenizer is None:
            jieba.setLogLevel(logging.WARNING)
            _tokenizer = jieba.Tokenizer()
            _tokenizer.initialize()
        for word in vocabulary:
            if word not in _tokenizer.FREQ or not _tokenizer.FREQ[word]:
                _tokenizer.add_word(word)
        return _tokenizer.lcut(text, HMM=False)


def mentions(words: Sequence[str], keyword: str) -> bool:
    return any(word == keyword or word.startswith(keyword) or word.endswith(keyword) for word in words)


def theme_counts(
    comments: Sequence[CommentFact],
    themes: Sequence[ThemeSpec],
    *,
    tokenize: Callable[[str, Iterable[str]], list[str]] = segment,
    low_max: int = LOW_SCORE_MAX,
    examples: int = EXAMPLES,
) -> list[ThemeCount]:
    """Counts per theme in the lexicon's order (see the module's rule); examples are the first comments that
    mention the theme, in the order given."""
    vocabulary = sorted({keyword for theme in themes for keyword in theme.keywords})
    counts = [ThemeCount(theme.name, theme.keywords) for theme in themes]
    owners: list[dict[int, int | None]] = [{} for _ in themes]
    for comment in comments:
        words = tokenize(comment.text, vocabulary)
        for i, theme in enumerate(themes):
            if not any(mentions(words, keyword) for keyword in theme.keywords):
                continue
            counts[i].comments += 1
            owners[i][comment.response_id] = comment.port_score
            if len(counts[i].examples) < examples:
                counts[i].examples.append(comment.text)
    for count, scores in zip(counts, owners, strict=True):
        count.owners = len(scores)
        count.scored = sum(score is not None for score in scores.values())
        count.low = sum(score is not None and score <= low_max for score in scores.values())
    return counts


# ---- loading -------------------------------------------------------------------------------------------------

def port_themes(*, port: str) -> list[CommentTheme]:
    return list(CommentTheme.objects.filter(port=port).order_by("position", "id"))


def port_theme_specs(*, port: str) -> list[ThemeSpec]:
    return [ThemeSpec(theme.name, theme_keywords(theme.name, theme.keywords)) for theme in port_themes(port=port)]


def port_comment_facts(*, survey: Survey, port: str) -> list[CommentFact]:
    """The survey's comments read for a port (its own questions' and the general ones), newest response first,
    each with the owner's score of the port's overall item."""
    codes = answer_codes(Question.objects.filter(survey=survey))
    port_item = Question.objects.filter(survey=survey, kind=QuestionKind.PORT, port=port).values_list("code", flat=True).first()
    rows = (
        ResponseComment.objects.filter(response__survey=survey, question__port__in=[port, ""])
        .exclude(text="")
        .order_by("-response_id", "question__position")
        .values_list("response_id", "text", "response__answers")
    )
    facts = []
    for response_id, text, answers in rows:
        score = decode_answers(codes, answers).get(port_item) if port_item else None
        facts.append(CommentFact(response_id, text, score))
    return facts


THEMES_SECONDS = 24 * 3600  # the key names every input (lexicon, comments, responses), so it can live long


def port_theme_version(*, port: str) -> tuple:
    """The state of a port's lexicon, for cache keys (an edit, an addition or a removal changes it)."""
    state = CommentTheme.objects.filter(port=port).aggregate(n=Count("id"), last=Max("updated_at"), top=Max("id"))
    return (state["n"], state["top"], state["last"])


def port_comment_themes(*, survey: Survey | None, port: str) -> list[ThemeCount]:
    """Theme counts of a port in a survey, cached under the lexicon's state and the survey's comments' state."""
    if survey is None:
        return []
    comments = ResponseComment.objects.filter(response__survey=survey).aggregate(
        n=Count("id"), top=Max("id"), last=Max("response__updated_at")
    )
    parts = (survey.pk, port, port_theme_version(port=port), comments["n"], comments["top"], comments["last"])
    key = "feedback:themes:" + hashlib.sha256(repr(parts).encode()).hexdigest()
    found = cache.get(key)
    if found is None:
        found = theme_counts(port_comment_facts(survey=survey, port=port), port_theme_specs(port=port))
        cache.set(key, found, THEMES_SECONDS)
    return found
