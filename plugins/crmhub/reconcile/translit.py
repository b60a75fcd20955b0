"""Persian names in Latin letters and in Persian script: a small table-based transliterator.

Persian script writes consonants and long vowels only (``محمد`` = Mohammad, ``علی`` = Ali), and
several letters sound the same (``ت``/``ط`` t, ``س``/``ص``/``ث`` s, ``ز``/``ذ``/``ض``/``ظ`` z,
``ح``/``ه`` h, ``غ``/``ق`` gh/q), so no table turns one form into the other exactly. Three functions:

* :func:`to_latin` — Persian script → Latin letters, letter by letter (``کاوه`` → ``kaveh``,
  ``محمد`` → ``mhmd``: the short vowels were never written);
* :func:`to_persian` — Latin → Persian script, the usual spelling rules (``Shirin`` → ``شیرین``,
  ``Reza`` → ``رزا`` where the name is spelled ``رضا``: the table cannot know which z);
* :func:`skeleton` — what both forms keep: the consonants, one symbol per sound class, vowels and the
  vowel carriers (``ا``, ``ع``, ``و``, ``ی``; ``a e i o u v w y``) left out, doubled letters once.
  ``skeleton("Mohammad") == skeleton("محمد") == "mhmd"``. This is what the matcher compares
  (``name=transliterated``): equal skeletons of first and last name in the two scripts.

Tables only, no model; every function is pure and runs once per distinct name.
"""

from __future__ import annotations

import re
import unicodedata

#: Persian letter → its Latin spelling (vowel carriers handled in :func:`to_latin`).
_FA_TO_LATIN: dict[str, str] = {
    "ب": "b", "پ": "p", "ت": "t", "ث": "s", "ج": "j", "چ": "ch", "ح": "h", "خ": "kh", "د": "d",
    "ذ": "z", "ر": "r", "ز": "z", "ژ": "zh", "س": "s", "ش": "sh", "ص": "s", "ض": "z", "ط": "t",
    "ظ": "z", "ع": "", "غ": "gh", "ف": "f", "ق": "gh", "ک": "k", "گ": "g", "ل": "l", "م": "m",
    "ن": "n", "ه": "h", "ء": "", "ئ": "y", "أ": "a", "إ": "e", "ؤ": "u", "ة": "h", "آ": "a", "ا": "a",
}  # fmt: skip

#: Persian letter → sound class of the skeleton ("" = vowel or vowel carrier, left out).
_FA_SKELETON: dict[str, str] = {
    "ب": "b", "پ": "p", "ت": "t", "ط": "t", "ث": "s", "س": "s", "ص": "s", "ج": "j", "چ": "C",
    "ح": "h", "ه": "h", "ة": "h", "خ": "x", "د": "d", "ذ": "z", "ز": "z", "ض": "z", "ظ": "z",
    "ژ": "Z", "ر": "r", "ش": "S", "غ": "q", "ق": "q", "ف": "f", "ک": "k", "ك": "k", "گ": "g",
    "ل": "l", "م": "m", "ن": "n",
}  # fmt: skip

#: Latin letter groups → sound class (longest first); vowels and v/w/y are carriers, left out.
_LATIN_SKELETON: tuple[tuple[str, str], ...] = (
    ("kh", "x"), ("gh", "q"), ("sh", "S"), ("ch", "C"), ("zh", "Z"), ("ck", "k"), ("ph", "f"),
    ("b", "b"), ("p", "p"), ("t", "t"), ("s", "s"), ("j", "j"), ("h", "h"), ("d", "d"), ("z", "z"),
    ("r", "r"), ("q", "q"), ("f", "f"), ("k", "k"), ("c", "k"), ("g", "g"), ("l", "l"), ("m", "m"),
    ("n", "n"), ("x", "ks"),
)  # fmt: skip

#: Latin letter groups → Persian letters, consonants (longest first).
_LATIN_TO_FA: tuple[tuple[str, str], ...] = (
    ("kh", "خ"), ("gh", "غ"), ("sh", "ش"), ("ch", "چ"), ("zh", "ژ"), ("ph", "ف"), ("ck", "ک"),
    ("b", "ب"), ("p", "پ"), ("t", "ت"), ("s", "س"), ("j", "ج"), ("h", "ه"), ("d", "د"), ("z", "ز"),
    ("r", "ر"), ("q", "ق"), ("f", "ف"), ("k", "ک"), ("c", "ک"), ("g", "گ"), ("l", "ل"), ("m", "م"),
    ("n", "ن"), ("v", "و"), ("w", "و"), ("y", "ی"), ("x", "کس"),
)  # fmt: skip

_LATIN_FA: dict[str, str] = dict(_LATIN_TO_FA)
#: Latin letters that an ``h`` after them turns into another sound (kh gh sh ch zh ph ck-h).
_DIGRAPH_STARTS = frozenset("kgsczp")
_LONG_VOWELS = {"ou": "و", "oo": "و", "ee": "ی", "ei": "ی"}
_INITIAL_VOWEL = {"a": "ا", "e": "ا", "i": "ای", "o": "او", "u": "او"}
_INNER_VOWEL = {"a": "ا", "i": "ی", "u": "و"}

_PERSIAN_LETTER = re.compile(r"[\u0600-\u06FF]")
_UNIFY = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "\u0640": None, "\u200c": None, "\u200d": None})


def is_persian(text: str | None) -> bool:
    """Whether ``text`` holds Persian (Arabic-script) letters."""
    return bool(text) and _PERSIAN_LETTER.search(text) is not None


def _latin_words(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.findall(r"[a-z]+", plain)


def _persian_words(text: str) -> list[str]:
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNIFY))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))  # harakat, tashdid
    plain = unicodedata.normalize("NFC", plain).translate(_UNIFY)
    return re.findall(r"[\u0621-\u064A\u067E\u0686\u0698\u06A9\u06AF\u06CC\u0622\u0629]+", plain)


def to_latin(text: str | None) -> str | None:
    """Persian script → Latin letters, letter by letter: ``کاوه`` → ``kaveh``, ``شیرین`` → ``shirin``.

    ``و`` is ``v`` at the start of a word or next to ``ا`` (or before ``ی``), else ``u``; ``ی`` is ``y`` at the start or
    after ``ا``, else ``i``; a final ``ه`` after a consonant is ``eh``; an ``h`` that would make a
    digraph with the letter before is written ``'h`` (``زهرا`` → ``z'hra``: read back, ``zh`` is ``ژ``).
    Short vowels are not written in Persian, so they are not in the result (``محمد`` → ``mhmd``). Latin
    text is returned folded.
    """
    if not text:
        return None
    if not is_persian(text):
        return " ".join(_latin_words(text)) or None
    words = []
    for word in _persian_words(text):
        out = []
        for i, ch in enumerate(word):
            before = word[i - 1] if i else ""
            if ch == "و":
                after = word[i + 1] if i + 1 < len(word) else ""
                out.append("v" if i == 0 or before in "اآ" or after in "اآی" else "u")
            elif ch == "ی":
                out.append("y" if i == 0 or before in "اآ" else "i")
            elif ch == "ه" and i == len(word) - 1 and i > 0 and before not in "اآ":
                out.append("eh")
            elif ch in "هح" and out and out[-1][-1:] in _DIGRAPH_STARTS:
                out.append("'h")  # "z'hra" (زهرا): "zh" would read as ژ, "sh" as ش, as in "Es'hagh"
            else:
                out.append(_FA_TO_LATIN.get(ch, ""))
        words.append("".join(out))
    return " ".join(w for w in words if w) or None


def to_persian(text: str | None) -> str | None:
    """Latin → Persian script with the usual spelling rules: ``Shirin`` → ``شیرین``, ``Kaveh`` → ``کاوه``.

    Consonants by table (digraphs ``kh gh sh ch zh`` first); a word-initial vowel is ``ا`` (``ای`` for
    i, ``او`` for o/u); inside a word ``a`` is ``ا``, ``i``/``ee`` ``ی``, ``u``/``ou``/``oo`` ``و``, ``e``
    and ``o`` are short and not written; a final ``a`` is ``ا``, a final ``e``/``eh`` ``ه``, a final
    ``i`` ``ی``. Persian text is returned with its letters unified (``ي`` → ``ی``).
    """
    if not text:
        return None
    if is_persian(text):
        return " ".join(_persian_words(text)) or None
    words = []
    for word in _latin_words(text):
        out, i, n = [], 0, len(word)
        while i < n:
            if 0 < i == n - 2 and word.endswith("eh"):
                out.append("ه")
                break
            pair = word[i : i + 2]
            if pair in _LONG_VOWELS:
                out.append(("ا" if i == 0 else "") + _LONG_VOWELS[pair])
                i += 2
                continue
            ch = word[i]
            if ch in "aeiou":
                if i == 0:
                    out.append(_INITIAL_VOWEL[ch])
                elif ch in _INNER_VOWEL:
                    out.append(_INNER_VOWEL[ch])
                elif ch == "e" and i == n - 1:
                    out.append("ه")
                i += 1  # a short e or o inside a word is not written
                continue
            group = next((g for g in _LATIN_FA if word.startswith(g, i)), ch)
            if not (i >= len(group) and word[i - len(group) : i] == group):  # "mm" is written once
                out.append(_LATIN_FA.get(group, ""))
            i += len(group)
        words.append("".join(out))
    return " ".join(w for w in words if w) or None


def skeleton(text: str | None) -> str:
    """The consonant skeleton both scripts share (``""`` when none): ``Hossein`` = ``حسین`` = ``hsn``."""
    if not text:
        return ""
    out: list[str] = []
    if is_persian(text):
        for word in _persian_words(text):
            out.extend(_FA_SKELETON.get(ch, "") for ch in word)
    else:
        for word in _latin_words(text):
            i = 0
            while i < len(word):
                group, sound = next(((g, s) for g, s in _LATIN_SKELETON if word.startswith(g, i)), (word[i], ""))
                out.append(sound)
                i += len(group)
    text_out = "".join(out)
    return re.sub(r"(.)\1+", r"\1", text_out)
