"""Word error rate scoring of train.devseq against hand-counted cases and an
independent edit distance."""
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from train import devseq  # noqa: E402


def _lev(a, b):
    # plain recursive edit distance with memo, independent of devseq.align
    memo = {}

    def go(i, j):
        if (i, j) not in memo:
            if i == 0 or j == 0:
                memo[(i, j)] = i + j
            else:
                memo[(i, j)] = min(go(i - 1, j - 1) + (a[i - 1] != b[j - 1]), go(i - 1, j) + 1,
                                   go(i, j - 1) + 1)
        return memo[(i, j)]
    return go(len(a), len(b))


def test_hand_counted():
    assert devseq.align("a b c".split(), "a b c".split())[:3] == (0, 0, 0)
    assert devseq.align("a b c".split(), "a x c".split())[:3] == (1, 0, 0)
    assert devseq.align("a b c".split(), "a c".split())[:3] == (0, 1, 0)
    assert devseq.align("a b".split(), "a b b".split())[:3] == (0, 0, 1)
    assert devseq.align([], "x y".split())[:3] == (0, 0, 2)


def test_matches_edit_distance_and_pairs_rebuild_both():
    rng = random.Random(3)
    for _ in range(300):
        r = [rng.choice("abcd") for _ in range(rng.randint(0, 6))]
        h = [rng.choice("abcd") for _ in range(rng.randint(0, 6))]
        s, d, i, pairs = devseq.align(r, h)
        assert s + d + i == _lev(r, h)
        assert [a for a, _ in pairs if a is not None] == r
        assert [b for _, b in pairs if b is not None] == h


def test_score_files(tmp_path):
    refs = tmp_path / "refs.tsv"
    hyp = tmp_path / "hyp.tsv"
    refs.write_text("file\ttext\nx.wav\tyes no\ny.wav\tup down left\n")
    hyp.write_text("/some/dir/x.wav\tyes no\n/some/dir/y.wav\tup on\n")
    # y: down->on substitution + left deleted = 2 errors over 5 words
    assert abs(devseq.score(str(refs), str(hyp), show=0) - 0.4) < 1e-12
