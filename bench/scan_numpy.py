#!/usr/bin/env python3
"""The vertical spread scanner of docs/scanner.md written as a quant would
with numpy/pandas, vectorised: the baseline `vspread scan` is compared with.

usage: scan_numpy.py CHAIN.csv CONFIG.toml > result.csv

Nothing runs per element in Python: the CSV is read by pandas' pyarrow
engine, fields are checked with vectorised regular expressions and cast by
Arrow, pairs are enumerated by strike offset over integer group codes, and
N(x) is scipy's vectorised erfc. Bad rows are checked as the spec says
(plain decimal literals, integer columns, real dates, ranges, cross-row
agreement, repeats) and skipped; the result is printed in the spec's CSV
format with floats in repr form.
"""
import sys
import tomllib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import erfc

COLUMNS = ["underlying", "underlying_price", "expiry", "dte", "strike", "right",
           "bid", "ask", "delta", "iv", "open_interest", "volume"]
DEFAULTS = dict(kinds=["bull_call", "bear_call", "bear_put", "bull_put"], dte_min=21, dte_max=60,
                width_min=1.0, width_max=10.0, min_open_interest=100, max_leg_spread_pct=0.25,
                short_delta_min=0.15, short_delta_max=0.45, max_debit_to_width=0.60,
                min_credit_to_width=0.25, min_pop=0.0, min_score=-1.0, top_per_underlying=3,
                max_results=100)
FLOAT = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
INT = r"^[+-]?[0-9]{1,18}$"
DATE = r"^[0-9]{8}$"


def checked(strings, pattern, to):
    """Values of the strings that match `pattern` cast to `to` (0 elsewhere),
    and the mask of matches."""
    ok = pc.fill_null(pc.match_substring_regex(strings, pattern), False)
    values = pc.cast(pc.if_else(ok, strings, "0"), to).to_numpy()
    return values, ok.to_numpy(zero_copy_only=False)


def real_date(yyyymmdd):
    y, m, d = yyyymmdd // 10000, yyyymmdd // 100 % 100, yyyymmdd % 100
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(m, 0, 12)]
    days = np.where((m == 2) & leap, 29, days)
    return (y > 0) & (m >= 1) & (m <= 12) & (d >= 1) & (d <= days)


def load(path):
    df = pd.read_csv(path, dtype=str, keep_default_na=False, engine="pyarrow")
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        sys.exit(f"{path}: the header lacks {', '.join(missing)}")
    raw = {c: pa.array(df[c]) for c in COLUMNS}
    ok = pc.fill_null(pc.utf8_length(raw["underlying"]), 0).to_numpy() > 0
    out = {"underlying": df["underlying"].to_numpy()}
    for c in ["underlying_price", "strike", "bid", "ask", "delta", "iv"]:
        v, good = checked(raw[c], FLOAT, pa.float64())
        ok &= good & np.isfinite(v)
        out[c] = v
    for c in ["dte", "open_interest", "volume"]:
        out[c], good = checked(raw[c], INT, pa.int64())
        ok &= good
    expiry, good = checked(raw["expiry"], DATE, pa.int64())
    ok &= good & real_date(expiry)
    out["expiry"] = expiry
    right = df["right"].to_numpy()
    call, put = right == "C", right == "P"
    out["right"] = right
    ok &= call | put
    ok &= (out["underlying_price"] > 0) & (out["dte"] >= 0) & (out["strike"] > 0)
    ok &= (out["bid"] >= 0) & (out["ask"] >= out["bid"]) & (out["iv"] > 0)
    ok &= (out["open_interest"] >= 0) & (out["volume"] >= 0)
    delta = out["delta"]
    ok &= np.where(call, (delta >= 0) & (delta <= 1), (delta >= -1) & (delta <= 0))
    d = pd.DataFrame(out)[ok]
    # Cross-row rules among valid rows in file order, first row seen wins.
    first_price = d.groupby("underlying", sort=False)["underlying_price"].transform("first")
    d = d[d["underlying_price"] == first_price]
    first_dte = d.groupby(["underlying", "expiry"], sort=False)["dte"].transform("first")
    d = d[d["dte"] == first_dte]
    d = d[~d.duplicated(["underlying", "expiry", "strike", "right"], keep="first")]
    return d, len(df) - len(d)


def norm_cdf(x):
    return erfc(-x / np.sqrt(2.0)) / 2.0


def scan(d, c):
    d = d[(d["dte"] >= c["dte_min"]) & (d["dte"] <= c["dte_max"])]
    group = d.groupby(["underlying", "expiry", "right"], sort=False).ngroup().to_numpy()
    strike = d["strike"].to_numpy()
    order = np.lexsort((strike, group))
    d = d.iloc[order]
    group, strike = group[order], strike[order]
    n = len(d)
    # Pairs (i, j) of one group, strikes ascending, by offset j - i: an
    # offset with no pair inside width_max ends the enumeration.
    li, hi = [], []
    for off in range(1, n):
        i = np.arange(n - off)
        j = i + off
        same = group[i] == group[j]
        width = strike[j] - strike[i]
        reach = same & (width <= c["width_max"])
        if not reach.any():
            break
        m = reach & (width >= c["width_min"])
        li.append(i[m])
        hi.append(j[m])
    lo_i = np.concatenate(li) if li else np.array([], dtype=np.int64)
    hi_i = np.concatenate(hi) if hi else np.array([], dtype=np.int64)
    bid, ask = d["bid"].to_numpy(), d["ask"].to_numpy()
    mid = (bid + ask) / 2.0
    delta, iv = d["delta"].to_numpy(), d["iv"].to_numpy()
    oi_ok = d["open_interest"].to_numpy() >= c["min_open_interest"]
    with np.errstate(divide="ignore", invalid="ignore"):
        spread_ok = (bid > 0) & ((ask - bid) / mid <= c["max_leg_spread_pct"])
    abs_delta = np.abs(delta)
    delta_ok = (abs_delta >= c["short_delta_min"]) & (abs_delta <= c["short_delta_max"])
    right = d["right"].to_numpy()
    spot = d["underlying_price"].to_numpy()
    t = np.maximum(d["dte"].to_numpy(), 1) / 365.0
    frames = []
    for kind in c["kinds"]:
        r = "C" if kind.endswith("call") else "P"
        debit = kind in ("bull_call", "bear_put")
        bullish = kind.startswith("bull")
        long_low = kind in ("bull_call", "bull_put")
        sel = right[lo_i] == r
        lo, hi_ = lo_i[sel], hi_i[sel]
        lg, sh = (lo, hi_) if long_low else (hi_, lo)
        width = strike[hi_] - strike[lo]
        keep = oi_ok[lg] & oi_ok[sh] & spread_ok[lg] & spread_ok[sh] & delta_ok[sh]
        if debit:
            price = mid[lg] - mid[sh]
            natural = ask[lg] - bid[sh]
        else:
            price = mid[sh] - mid[lg]
            natural = bid[sh] - ask[lg]
        keep &= (price > 1e-6) & (width - price > 1e-6)
        with np.errstate(divide="ignore", invalid="ignore"):
            if debit:
                keep &= price / width <= c["max_debit_to_width"]
            else:
                keep &= price / width >= c["min_credit_to_width"]
        idx = np.nonzero(keep)[0]
        lg, sh, lo, hi_ = lg[idx], sh[idx], lo[idx], hi_[idx]
        width, price, natural = width[idx], price[idx], natural[idx]
        max_profit = width - price if debit else price
        max_loss = price if debit else width - price
        breakeven = strike[lo] + price if r == "C" else strike[hi_] - price
        sigma = (iv[lg] + iv[sh]) / 2.0
        tt = t[lo]
        d2 = (np.log(spot[lo] / breakeven) - sigma * sigma * tt / 2.0) / (sigma * np.sqrt(tt))
        pop = norm_cdf(d2 if bullish else -d2)
        ev = pop * max_profit - (1 - pop) * max_loss
        score = ev / max_loss
        ok = (pop >= c["min_pop"]) & (score >= c["min_score"])
        frames.append(pd.DataFrame({
            "underlying": d["underlying"].to_numpy()[lo][ok], "kind": kind,
            "expiry": d["expiry"].to_numpy()[lo][ok], "dte": d["dte"].to_numpy()[lo][ok],
            "long_strike": strike[lg][ok], "short_strike": strike[sh][ok], "width": width[ok],
            "price": price[ok], "natural": natural[ok], "max_profit": max_profit[ok],
            "max_loss": max_loss[ok], "breakeven": breakeven[ok], "pop": pop[ok], "ev": ev[ok],
            "score": score[ok]}))
    res = pd.concat(frames, ignore_index=True)
    # round_half_even(score * 1e9), kept as a float so no score saturates.
    res["rank"] = np.rint(res["score"].to_numpy() * 1e9)
    res = res.sort_values(["rank", "underlying", "expiry", "kind", "long_strike", "short_strike"],
                          ascending=[False, True, True, True, True, True], kind="stable")
    res = res[res.groupby("underlying").cumcount() < c["top_per_underlying"]]
    return res.head(c["max_results"])


def main():
    chain, config_path = sys.argv[1], sys.argv[2]
    with open(config_path, "rb") as f:
        c = {**DEFAULTS, **tomllib.load(f).get("scanner", {})}
    d, bad = load(chain)
    res = scan(d, c)
    cols = ["underlying", "kind", "expiry", "dte", "long_strike", "short_strike", "width", "price",
            "natural", "max_profit", "max_loss", "breakeven", "pop", "ev", "score"]
    out = [",".join(cols)]
    for row in res[cols].itertuples(index=False):
        out.append(",".join([row[0], row[1], str(row[2]), str(row[3])]
                            + [repr(float(v)) for v in row[4:]]))
    sys.stdout.write("\n".join(out) + "\n")
    if bad:
        print(f"{bad} bad row(s) skipped", file=sys.stderr)


if __name__ == "__main__":
    main()
