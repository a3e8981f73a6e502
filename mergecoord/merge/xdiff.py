"""Which lines changed between two files, chosen exactly as git's xdiff chooses them.

Among repeated lines many edit scripts are equally short, and which one a diff picks
decides whether the two sides' changes of a merge touch (a conflict) or not.  To reach
git's verdicts this module reproduces xdiff's behaviour: trim the common ends; set aside lines that have no
match in the other file, and lines with very many matches when they sit in a run of such
lines; then run Myers' divide-and-conquer search for the middle snake over what is left,
with xdiff's tie-breaks and its cost cut-offs for expensive inputs.

Licence: this module is a Python port that follows the structure of libxdiff's
xdiffi.c as shipped in git (Copyright (C) 2003 Davide Libenzi), and is therefore
distributed under that file's licence, the GNU LGPL version 2.1 or later, unlike the
rest of mergecoord (MIT). It can be replaced by any function with the same contract.
"""
from __future__ import annotations

from collections import Counter

SNAKE_CNT = 20
HEUR_MIN_COST = 256
MAX_COST_MIN = 256
K_HEUR = 4
MAX_EQLIMIT = 1024
SIMSCAN_WINDOW = 100
KPDIS_RUN = 4
_FAR = 1 << 62


def _bogosqrt(n: int) -> int:
    i = 1
    while n > 0:
        i <<= 1
        n >>= 2
    return i


def changed_lines(a: list, b: list) -> tuple[list[bool], list[bool]]:
    """Flags of the lines of a and of b that the diff marks as changed."""
    ids: dict = {}
    x = [ids.setdefault(line, len(ids)) for line in a]
    y = [ids.setdefault(line, len(ids)) for line in b]
    n1, n2 = len(x), len(y)
    ch1, ch2 = [False] * n1, [False] * n2
    start = 0
    lim = min(n1, n2)
    while start < lim and x[start] == y[start]:
        start += 1
    tail = 0
    while tail < lim - start and x[n1 - 1 - tail] == y[n2 - 1 - tail]:
        tail += 1
    keep1 = _keepers(x, Counter(y), start, n1 - tail - 1, ch1)
    keep2 = _keepers(y, Counter(x), start, n2 - tail - 1, ch2)
    _compare([x[i] for i in keep1], [y[j] for j in keep2], keep1, keep2, ch1, ch2)
    return ch1, ch2


def _keepers(recs, other_counts, s, e, changed) -> list:
    """Indexes of the lines worth matching; the others are marked changed right away."""
    mlim = min(_bogosqrt(len(recs)), MAX_EQLIMIT)
    dis = {}
    for i in range(s, e + 1):
        nm = other_counts.get(recs[i], 0)
        dis[i] = 0 if nm == 0 else 2 if nm >= mlim else 1
    keep = []
    for i in range(s, e + 1):
        if dis[i] == 1 or (dis[i] == 2 and not _lone_multimatch(dis, i, s, e)):
            keep.append(i)
        else:
            changed[i] = True
    return keep


def _lone_multimatch(dis, i, s, e) -> bool:
    """A line with many matches is dropped when it sits among lines without any."""
    s, e = max(s, i - SIMSCAN_WINDOW), min(e, i + SIMSCAN_WINDOW)
    none_before, multi_before = 0, 1
    r = 1
    while i - r >= s:
        if dis[i - r] == 0:
            none_before += 1
        elif dis[i - r] == 2:
            multi_before += 1
        else:
            break
        r += 1
    if not none_before:
        return False
    none_after, multi_after = 0, 1
    r = 1
    while i + r <= e:
        if dis[i + r] == 0:
            none_after += 1
        elif dis[i + r] == 2:
            multi_after += 1
        else:
            break
        r += 1
    if not none_after:
        return False
    nones, multis = none_after + none_before, multi_after + multi_before
    return multis * KPDIS_RUN < multis + nones


def _compare(x, y, idx1, idx2, ch1, ch2) -> None:
    n1, n2 = len(x), len(y)
    size = n1 + n2 + 3
    kvdf, kvdb = [0] * size, [0] * size
    base = n2 + 1  # list index of diagonal 0
    mxcost = max(_bogosqrt(size), MAX_COST_MIN)
    boxes = [(0, n1, 0, n2, False)]
    while boxes:
        off1, lim1, off2, lim2, need_min = boxes.pop()
        while off1 < lim1 and off2 < lim2 and x[off1] == y[off2]:
            off1 += 1
            off2 += 1
        while off1 < lim1 and off2 < lim2 and x[lim1 - 1] == y[lim2 - 1]:
            lim1 -= 1
            lim2 -= 1
        if off1 == lim1:
            for j in range(off2, lim2):
                ch2[idx2[j]] = True
        elif off2 == lim2:
            for i in range(off1, lim1):
                ch1[idx1[i]] = True
        else:
            i1, i2, min_lo, min_hi = _split(x, off1, lim1, y, off2, lim2, kvdf, kvdb, base,
                                            need_min, mxcost)
            boxes.append((i1, lim1, i2, lim2, min_hi))
            boxes.append((off1, i1, off2, i2, min_lo))


def _split(x, off1, lim1, y, off2, lim2, kvdf, kvdb, base, need_min, mxcost):
    """The middle snake of the box, searching from both corners at once (Myers), or a
    good-enough split point once the cost passes xdiff's cut-offs."""
    dmin, dmax = off1 - lim2, lim1 - off2
    fmid, bmid = off1 - off2, lim1 - lim2
    odd = (fmid - bmid) & 1
    fmin = fmax = fmid
    bmin = bmax = bmid
    kvdf[fmid + base] = off1
    kvdb[bmid + base] = lim1
    ec = 0
    while True:
        ec += 1
        got_snake = False
        if fmin > dmin:
            fmin -= 1
            kvdf[fmin - 1 + base] = -1
        else:
            fmin += 1
        if fmax < dmax:
            fmax += 1
            kvdf[fmax + 1 + base] = -1
        else:
            fmax -= 1
        for d in range(fmax, fmin - 1, -2):
            lo, hi = kvdf[d - 1 + base], kvdf[d + 1 + base]
            i1 = lo + 1 if lo >= hi else hi
            prev = i1
            i2 = i1 - d
            while i1 < lim1 and i2 < lim2 and x[i1] == y[i2]:
                i1 += 1
                i2 += 1
            if i1 - prev > SNAKE_CNT:
                got_snake = True
            kvdf[d + base] = i1
            if odd and bmin <= d <= bmax and kvdb[d + base] <= i1:
                return i1, i2, True, True
        if bmin > dmin:
            bmin -= 1
            kvdb[bmin - 1 + base] = _FAR
        else:
            bmin += 1
        if bmax < dmax:
            bmax += 1
            kvdb[bmax + 1 + base] = _FAR
        else:
            bmax -= 1
        for d in range(bmax, bmin - 1, -2):
            lo, hi = kvdb[d - 1 + base], kvdb[d + 1 + base]
            i1 = lo if lo < hi else hi - 1
            prev = i1
            i2 = i1 - d
            while i1 > off1 and i2 > off2 and x[i1 - 1] == y[i2 - 1]:
                i1 -= 1
                i2 -= 1
            if prev - i1 > SNAKE_CNT:
                got_snake = True
            kvdb[d + base] = i1
            if not odd and fmin <= d <= fmax and i1 <= kvdf[d + base]:
                return i1, i2, True, True
        if need_min:
            continue
        if got_snake and ec > HEUR_MIN_COST:
            found = _interesting_forward(x, y, off1, lim1, off2, lim2, kvdf, base, fmin,
                                         fmax, fmid, ec)
            if found:
                return found[0], found[1], True, False
            found = _interesting_backward(x, y, off1, lim1, off2, lim2, kvdb, base, bmin,
                                          bmax, bmid, ec)
            if found:
                return found[0], found[1], False, True
        if ec >= mxcost:
            return _furthest(off1, lim1, off2, lim2, kvdf, kvdb, base, fmin, fmax, bmin, bmax)


def _interesting_forward(x, y, off1, lim1, off2, lim2, kvdf, base, fmin, fmax, fmid, ec):
    best, found = 0, None
    for d in range(fmax, fmin - 1, -2):
        i1 = kvdf[d + base]
        i2 = i1 - d
        v = (i1 - off1) + (i2 - off2) - abs(d - fmid)
        if (v > K_HEUR * ec and v > best and off1 + SNAKE_CNT <= i1 < lim1
                and off2 + SNAKE_CNT <= i2 < lim2):
            k = 1
            while x[i1 - k] == y[i2 - k]:
                if k == SNAKE_CNT:
                    best, found = v, (i1, i2)
                    break
                k += 1
    return found


def _interesting_backward(x, y, off1, lim1, off2, lim2, kvdb, base, bmin, bmax, bmid, ec):
    best, found = 0, None
    for d in range(bmax, bmin - 1, -2):
        i1 = kvdb[d + base]
        i2 = i1 - d
        v = (lim1 - i1) + (lim2 - i2) - abs(d - bmid)
        if (v > K_HEUR * ec and v > best and off1 < i1 <= lim1 - SNAKE_CNT
                and off2 < i2 <= lim2 - SNAKE_CNT):
            k = 0
            while x[i1 + k] == y[i2 + k]:
                if k == SNAKE_CNT - 1:
                    best, found = v, (i1, i2)
                    break
                k += 1
    return found


def _furthest(off1, lim1, off2, lim2, kvdf, kvdb, base, fmin, fmax, bmin, bmax):
    fbest = fbest1 = -1
    for d in range(fmax, fmin - 1, -2):
        i1 = min(kvdf[d + base], lim1)
        i2 = i1 - d
        if lim2 < i2:
            i1, i2 = lim2 + d, lim2
        if fbest < i1 + i2:
            fbest, fbest1 = i1 + i2, i1
    bbest = bbest1 = _FAR
    for d in range(bmax, bmin - 1, -2):
        i1 = max(off1, kvdb[d + base])
        i2 = i1 - d
        if i2 < off2:
            i1, i2 = off2 + d, off2
        if i1 + i2 < bbest:
            bbest, bbest1 = i1 + i2, i1
    if (lim1 + lim2) - bbest < fbest - (off1 + off2):
        return fbest1, fbest - fbest1, True, False
    return bbest1, bbest - bbest1, False, True
