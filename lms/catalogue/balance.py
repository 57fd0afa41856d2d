"""How much a question bank gives away to a learner who guesses by the look of the options.

A bank where the right answer is usually the longest, most careful option can be passed
without reading a lesson. These figures let authors (and a test) see that, per bank and
per translation. Only single-answer questions count: a "choose all that apply" question
has no one right option to compare.
"""
from __future__ import annotations

from dataclasses import dataclass
from statistics import mean

from lms.catalogue.model import Course

# A bank fails when its right answer is the strictly longest option in more than this
# share of its single-answer questions ...
MAX_LONGEST_SHARE = 0.35
# ... or when the right answer is, on average, this many times as long as a wrong one.
MAX_LENGTH_RATIO = 1.25


@dataclass(frozen=True)
class Balance:
    course_id: str
    language: str
    single_answer: int          # how many single-answer questions were measured
    correct_longest: int        # of those, how many have the right answer strictly longest
    mean_ratio: float           # mean over questions of len(right) / mean len(wrong)
    fewer_than_four: int        # single-answer questions with fewer than four options

    @property
    def longest_share(self) -> float:
        return self.correct_longest / self.single_answer if self.single_answer else 0.0

    @property
    def problems(self) -> list[str]:
        found = []
        if self.longest_share > MAX_LONGEST_SHARE:
            found.append(f"the right answer is the longest option in {self.longest_share:.0%} of single-answer "
                         f"questions (at most {MAX_LONGEST_SHARE:.0%})")
        if self.mean_ratio > MAX_LENGTH_RATIO:
            found.append(f"right answers are {self.mean_ratio:.2f} times as long as wrong ones on average "
                         f"(at most {MAX_LENGTH_RATIO:.2f})")
        if self.fewer_than_four:
            found.append(f"{self.fewer_than_four} single-answer questions have fewer than four options")
        return found

    def __str__(self) -> str:
        return (f"{self.course_id} [{self.language}]: {self.single_answer} single-answer questions, "
                f"right answer longest in {self.correct_longest} ({self.longest_share:.0%}), "
                f"mean length right / wrong {self.mean_ratio:.2f}")


def bank_balance(course: Course, language: str) -> Balance:
    """The figures for one bank: English, or a translation (with the English answers)."""
    longest = 0
    ratios = []
    short = 0
    for question_id in course.question_bank:
        question = course.question(question_id, language)
        if question.multiple:
            continue
        right = [len(o.text) for o in question.options if o.id in question.answers]
        wrong = [len(o.text) for o in question.options if o.id not in question.answers]
        if not right or not wrong:
            continue
        if len(question.options) < 4:
            short += 1
        if right[0] > max(wrong):
            longest += 1
        ratios.append(right[0] / mean(wrong))
    return Balance(course.id, language, len(ratios), longest, mean(ratios) if ratios else 0.0, short)


def course_balance(course: Course) -> list[Balance]:
    """One Balance for each language that has its own question bank."""
    return [bank_balance(course, language) for language in course.questions]
