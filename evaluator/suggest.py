"""'Did you mean 002_HC?': the truth case a misnamed prediction file was probably meant for.

Participants' files are misnamed in a few recurring ways: zero padding (`0002_HC` or `2_HC`
for `002_HC`), letter case, a tool's suffix or prefix (`002_HC_pred`, `002_HC_Annotation`,
`pred_002_HC`), another separator (`002-HC`), or a typo. The first four are recognised
exactly by a normalised key and by trying the name's separator-delimited pieces; typos by
`difflib.get_close_matches` (Ratcliff/Obershelp similarity, Python standard library), whose
cost grows with the number of cases, so only a bounded number of names get that search.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_DIGITS = re.compile(r"\d+")
_SEPARATORS = re.compile(r"[-_. ]+")
_PIECES = re.compile(r"([-_. ]+)")
#: Names with more pieces than this are only matched whole (pieces are tried pairwise).
_MAX_PIECES = 12
#: Similarity (0..1) a typo must reach; 0.8 allows one wrong character in `002_HC`.
_CUTOFF = 0.8


def loose_key(name: str) -> str:
    """`name` with letter case, leading zeros of numbers and the kind of separator erased."""
    name = _SEPARATORS.sub("_", name.lower())
    return _DIGITS.sub(lambda m: m.group().lstrip("0") or "0", name)


class CaseSuggester:
    """Suggests the truth case a misnamed file stem stands for (None when nothing is close).

    `fuzzy_budget` bounds the number of similarity searches (each compares with every case):
    a submission of thousands of unrelated names stays cheap, and the first names, which a
    participant reads first, get suggestions.
    """

    def __init__(self, cases: Iterable[str], fuzzy_budget: int = 200) -> None:
        self._cases = list(cases)
        by_key: dict[str, list[str]] = {}
        for case in self._cases:
            by_key.setdefault(loose_key(case), []).append(case)
        self._by_key = {k: v[0] for k, v in by_key.items() if len(v) == 1}
        self._lower = {c.lower(): c for c in self._cases}
        self._budget = fuzzy_budget

    def __call__(self, stem: str) -> str | None:
        hit = self._by_key.get(loose_key(stem))
        if hit is not None:
            return hit
        hit = self._by_pieces(stem)
        if hit is not None or self._budget <= 0:
            return hit
        self._budget -= 1
        close = difflib.get_close_matches(stem.lower(), list(self._lower), n=1, cutoff=_CUTOFF)
        return self._lower[close[0]] if close else None

    def _by_pieces(self, stem: str) -> str | None:
        """The longest run of the stem's pieces that names a case (`002_HC_pred` -> `002_HC`)."""
        tokens = _PIECES.split(stem)  # piece, separator, piece, ...
        n = (len(tokens) + 1) // 2
        if n < 2 or n > _MAX_PIECES:
            return None
        for length in range(n - 1, 0, -1):
            for start in range(n - length + 1):
                run = "".join(tokens[2 * start : 2 * (start + length) - 1])
                hit = self._by_key.get(loose_key(run))
                if hit is not None:
                    return hit
        return None
