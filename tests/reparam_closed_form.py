"""MobileOne's MACs in closed form (fvcore's conventions), derived from the paper's description
(Table 7 widths, official k, SE placement), not from the model: the check on the counts of
notebook 04. fvcore counts a conv as C_out · C_in/groups · kh · kw · H_out · W_out (bias not
counted), an eval-mode BatchNorm with affine as 2 per element, adaptive average pooling as 1 per
input element and a linear layer as in · out; element-wise ops (adds, ReLU, sigmoid, the SE
rescale) are not MACs."""

from __future__ import annotations

ALPHAS = {  # variant: (alpha0..alpha3, SE in the last 5 + 1 units)
    "s0": ((0.75, 1.0, 1.0, 2.0), False),
    "s1": ((1.5, 1.5, 2.0, 2.5), False),
    "s2": ((1.5, 2.0, 2.5, 4.0), False),
    "s3": ((2.0, 2.5, 3.0, 4.0), False),
    "s4": ((3.0, 3.5, 3.5, 4.0), True),
}


def _out(h: int, ksize: int, stride: int) -> int:
    pad = ksize // 2
    return (h + 2 * pad - ksize) // stride + 1


def _block(h, cin, cout, ksize, stride, groups, se, k, fused):
    ho = _out(h, ksize, stride)
    conv = lambda ks: cout * (cin // groups) * ks * ks * ho * ho  # noqa: E731
    bn = 2 * cout * ho * ho
    if fused:
        macs = conv(ksize)
    else:
        macs = k * (conv(ksize) + bn)
        if ksize > 1:
            macs += conv(1) + bn
        if cin == cout and stride == 1:
            macs += 2 * cin * h * h
    if se:
        rd = int(cout * 0.0625)
        macs += cout * ho * ho + rd * cout + cout * rd
    return macs, ho


def closed_form_macs(variant: str, k: int, size: int, fused: bool, classes: int = 1000) -> int:
    alphas, has_se = ALPHAS[variant]
    cin = min(64, int(64 * alphas[0]))
    total, h = _block(size, 3, cin, 3, 2, 1, False, 1, fused)
    widths = [int(64 * alphas[0]), int(128 * alphas[1]), int(256 * alphas[2]), int(512 * alphas[3])]
    for s, (width, n) in enumerate(zip(widths, (2, 8, 10, 1))):
        n_se = (5 if s == 2 else 1 if s == 3 else 0) if has_se else 0
        for u in range(n):
            se = u >= n - n_se
            m, h = _block(h, cin, cin, 3, 2 if u == 0 else 1, cin, se, k, fused)
            total += m
            m, h = _block(h, cin, width, 1, 1, 1, se, k, fused)
            total += m
            cin = width
    return total + cin * h * h + cin * classes
