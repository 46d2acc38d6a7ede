"""Test data the reference BPE tests share: a training example worked by hand, and texts
that are hard to tokenize exactly like tiktoken."""

# Worked by hand, without the split pattern (pattern=None), on "nonono no".
# Bytes: n=110, o=111, space=32.
#
#   start   n o n o n o _ n o     pairs: (n,o)=4  (o,n)=2  (o,_)=1  (_,n)=1
#   merge 1 (n,o) -> 256          256 256 256 _ 256
#                                 pairs: (256,256)=2  (256,_)=1  (_,256)=1
#   merge 2 (256,256) -> 257      257 256 _ 256        (left to right: the 3rd 256 is left)
#                                 pairs: (257,256)=1  (256,_)=1  (_,256)=1, a three-way tie
#   merge 3 (257,256) -> 258      258 _ 256             (the tie goes to the pair seen first)
#   merge 4 (258,_) -> 259        259 256
#   merge 5 (259,256) -> 260      260                   the whole text is one token
#   merge 6: no pairs left, so training stops early.
HAND_TEXT = "nonono no"
HAND_MERGES_NO_SPLIT = {
    (110, 111): 256,
    (256, 256): 257,
    (257, 256): 258,
    (258, 32): 259,
    (259, 256): 260,
}
# With GPT-2's split pattern the chunks are "nonono" and " no", and no merge may
# cross from one chunk to the other:
#
#   merge 1 (n,o) -> 256          "nonono" -> 256 256 256     " no" -> _ 256      (n,o)=3+1
#   merge 2 (256,256) -> 257      257 256                     _ 256
#   merge 3 (257,256) -> 258      258                         _ 256   tie 1:1, "nonono" is first
#   merge 4 (_,256) -> 259        258                         259
#   then every chunk is one token and training stops.
HAND_MERGES_GPT2_SPLIT = {(110, 111): 256, (256, 256): 257, (257, 256): 258, (32, 256): 259}


MIXED_TEXTS = [
    "It's here. They're late, we've won, I'm sure you'll say he'd go; don't.",
    "IT'S LOUD. 'Tis a quote: 'single' and \"double\"; o'clock; rock 'n' roll",
    "In 1999 about 3.14159 of 1,000,000 people paid $42.50 (or 12%) on 2024-06-01.",
    "a  b   c    d\t\te\n\nf \n g\r\n  \n\n\n    end   ",
    "    \t\n  ",
    "",
    'def f(x: int) -> int:\n    """Return x+1."""\n    return x + 1  # add one\n',
    "for (int i = 0; i < n; ++i) { s += a[i] * b[i]; }\n\tif (s != 0) return -1;",
    "Emoji: 😀👍🏽 👨‍👩‍👧‍👦 🇨🇳🇯🇵 ❤️ 🔥🔥🔥",
    "中文分词：我们今天学习字节对编码。你好，世界！一二三 ４５６",
    "日本語のテキスト、カタカナとひらがな。東京は晴れです。",
    "النص العربي يكتب من اليمين إلى اليسار ١٢٣",
    "Ünïcödé: naïve café, Straße, ﬁ ligature, Ελληνικά, русский, हिन्दी, 한국어",
    "zero\u200bwidth\u00a0nbsp\u2003em\u3000ideographic \ufeffbom \x00\x1f\x7f",
    "lone surrogates: \ud800 and \udfff; a pair written as two: \ud83d\ude00 end",
    "x" * 5000 + " " + "ab" * 3000,
]
