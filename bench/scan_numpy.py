#!/usr/bin/env python3
"""The vertical spread scanner of spec/scanner.md written as a quant would
with numpy/pandas, vectorised: the baseline `vspread scan` is compared with.

usage: scan_numpy.py CHAIN.csv CONFIG.toml > result.csv

Bad rows are checked as the spec says (plain decimal literals, integer
columns, real dates, ranges, cross-row agreement, repeats) and skipped; the
result is printed in the spec's CSV format with floats in repr form.
"""
import math
import sys
import tomllib

import numpy as np
import pandas as pd

COLUMNS = ["underlying", "underlying_price", "expiry", "dte", "strike", "right",
           "bid", "ask", "delta", "iv", "open_interest", "volume"]
DEFAULTS = dict(kinds=["bull_call", "bear_call", "bear_put", "bull_put"], dte_min=21, dte_max=60,
                width_min=1.0, width_max=10.0, min_open_interest=100, max_leg_spread_pct=0.25,
                short_delta_min=0.15, short_delta_max=0.45, max_debit_to_width=0.60,
                min_credit_to_width=0.25, min_pop=0.0, min_score=-1.0, top_per_underlying=3,
                max_results=100)
FLOAT = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"
INT = r"[+-]?\d{1,18}"


def load(path):
    df = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=True)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        sys.exit(f"{path}: the header lacks {', '.join(missing)}")
    df = df[COLUMNS]
    ok = df["underlying"].str.len() > 0
    out = {"underlying": df["underlying"]}
    for c in ["underlying_price", "strike", "bid", "ask", "delta", "iv"]:
        s = df[c]
        good = s.str.fullmatch(FLOAT)
        v = pd.to_numeric(s.where(good), errors="coerce").astype(float)
        ok &= good & np.isfinite(v)
        out[c] = v
    for c in ["dte", "open_interest", "volume"]:
        s = df[c]
        good = s.str.fullmatch(INT)
        ok &= good
        out[c] = pd.to_numeric(s.where(good, "0"), errors="coerce").astype(np.int64)
    exp = df["expiry"]
    dates = pd.to_datetime(exp.where(exp.str.fullmatch(r"\d{8}")), format="%Y%m%d", errors="coerce")
    ok &= dates.notna()
    out["expiry"] = exp
    out["right"] = df["right"]
    d = pd.DataFrame(out)
    ok &= d["right"].isin(["C", "P"])
    ok &= (d["underlying_price"] > 0) & (d["dte"] >= 0) & (d["strike"] > 0)
    ok &= (d["bid"] >= 0) & (d["ask"] >= d["bid"]) & (d["iv"] > 0)
    ok &= (d["open_interest"] >= 0) & (d["volume"] >= 0)
    call = d["right"] == "C"
    ok &= np.where(call, (d["delta"] >= 0) & (d["delta"] <= 1), (d["delta"] >= -1) & (d["delta"] <= 0))
    d = d[ok]
    # Cross-row rules, first row seen wins.
    first_price = d.groupby("underlying", sort=False)["underlying_price"].transform("first")
    d = d[d["underlying_price"] == first_price]
    first_dte = d.groupby(["underlying", "expiry"], sort=False)["dte"].transform("first")
    d = d[d["dte"] == first_dte]
    d = d[~d.duplicated(["underlying", "expiry", "strike", "right"], keep="first")]
    bad = len(df) - len(d)
    return d, bad


def norm_cdf(x):
    return np.frompyfunc(lambda v: math.erfc(-v / math.sqrt(2)) / 2, 1, 1)(x).astype(float)


def scan(d, c):
    d = d.sort_values(["underlying", "expiry", "right", "strike"], kind="stable").reset_index(drop=True)
    d = d[(d["dte"] >= c["dte_min"]) & (d["dte"] <= c["dte_max"])].reset_index(drop=True)
    key = (d["underlying"] + "|" + d["expiry"] + "|" + d["right"]).to_numpy()
    strike = d["strike"].to_numpy()
    n = len(d)
    li, hi = [], []
    for off in range(1, n):
        i = np.arange(n - off)
        j = i + off
        same = key[i] == key[j]
        if not same.any():
            break
        width = strike[j] - strike[i]
        if not (same & (width <= c["width_max"])).any():
            break
        m = same & (width >= c["width_min"]) & (width <= c["width_max"])
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
    delta_ok = (np.abs(delta) >= c["short_delta_min"]) & (np.abs(delta) <= c["short_delta_max"])
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
            keep &= (price / width <= c["max_debit_to_width"]) if debit else (price / width >= c["min_credit_to_width"])
        idx = np.nonzero(keep)[0]
        lg, sh, lo, hi_, width, price, natural = lg[idx], sh[idx], lo[idx], hi_[idx], width[idx], price[idx], natural[idx]
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
    res["rank"] = np.rint(res["score"].to_numpy() * 1e9).astype(np.int64)
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
        out.append(",".join([row[0], row[1], row[2], str(row[3])] + [repr(float(v)) for v in row[4:]]))
    sys.stdout.write("\n".join(out) + "\n")
    if bad:
        print(f"{bad} bad row(s) skipped", file=sys.stderr)


if __name__ == "__main__":
    main()
