"""Output symbols of the acoustic model and the Speech Commands label sets.

The symbol table is the one in model/ARCH.md: 0 = CTC blank, 1 = space,
2 = apostrophe, 3..28 = a..z. The C decoders use the same indices.
"""

BLANK = 0
SPACE = 1
APOSTROPHE = 2
SYMBOLS = ["<blank>", " ", "'"] + [chr(ord("a") + i) for i in range(26)]
N_SYMBOLS = len(SYMBOLS)  # 29

_CHAR_TO_ID = {c: i for i, c in enumerate(SYMBOLS) if i != BLANK}

# The 35 words of Speech Commands v0.02 (v0.01 has the first 30).
SC_WORDS = [
    "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go",
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "bed", "bird", "cat", "dog", "happy", "house", "marvin", "sheila", "tree", "wow",
    "backward", "forward", "follow", "learn", "visual",
]
# The ten keywords of the standard 12-class task, then the two catch-all classes.
KEYWORDS10 = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
UNKNOWN = "_unknown_"
SILENCE = "_silence_"
LABELS12 = KEYWORDS10 + [UNKNOWN, SILENCE]


def normalize_text(text):
    """Lower-case, map every run of characters outside the symbol set to one
    space, strip. 'Left, RIGHT!' -> 'left right'."""
    out = []
    for ch in text.lower():
        out.append(ch if ch in _CHAR_TO_ID and ch != " " else " ")
    return " ".join("".join(out).split())


def encode(text):
    """Text -> list of label ids (no blanks). Raises ValueError for characters
    the model cannot spell; call normalize_text first for free text."""
    ids = []
    for ch in text:
        i = _CHAR_TO_ID.get(ch)
        if i is None:
            raise ValueError("character %r of %r is not in the model's symbol set" % (ch, text))
        ids.append(i)
    return ids


def decode(ids):
    """Label ids (no blanks) -> text."""
    return "".join(SYMBOLS[i] for i in ids if i != BLANK)


def ctc_collapse(ids):
    """Greedy CTC: merge repeats, then drop blanks."""
    out, prev = [], None
    for i in ids:
        if i != prev and i != BLANK:
            out.append(i)
        prev = i
    return decode(out)


def label12(word):
    """12-class label of a spoken word ('-' or None: unknown word), or of
    '_silence_'."""
    if word == SILENCE:
        return SILENCE
    if word in KEYWORDS10:
        return word
    return UNKNOWN
