"""IB's official Python client (ibapi-latest 10.51.1) against the vspread
simulator: the conformance run of crates/sim (issue 4).

Connects, checks the startup sequence, reqIds and reqCurrentTime, reads
contract details and the SPY option chain, takes an option snapshot with
greeks, places a what-if and then a real BAG combo order, sees it filled
with executions and commissions, reads positions and the account summary,
lists and cancels a resting order, and replays the executions.

usage: python3 conformance.py PORT EXPECTED_UNIX_TIME
Prints "ok" and exits 0 when every answer is as expected; otherwise prints
the step that failed and exits 1.
"""
import queue
import sys
import threading

from ibapi.client import EClient
from ibapi.contract import ComboLeg, Contract
from ibapi.execution import ExecutionFilter
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel
from ibapi.wrapper import EWrapper

ACCOUNT = "DU1234567"
FARM_NOTICES = {2104, 2106, 2158}

# Callbacks recorded as (name, args) in arrival order.
RECORDED = [
    "nextValidId", "managedAccounts", "currentTime", "contractDetails",
    "contractDetailsEnd", "securityDefinitionOptionParameter",
    "securityDefinitionOptionParameterEnd", "tickPrice", "tickSize",
    "tickOptionComputation", "tickSnapshotEnd", "openOrder", "orderStatus",
    "execDetails", "execDetailsEnd", "commissionAndFeesReport", "position",
    "positionEnd", "accountSummary", "accountSummaryEnd", "openOrderEnd",
    "marketDataType",
]


class Failed(Exception):
    pass


class App(EWrapper, EClient):
    def __init__(self):
        EClient.__init__(self, self)
        self.events = queue.Queue()
        self.notices = []

    def error(self, reqId, errorTime, errorCode, errorString, advancedOrderRejectJson=""):
        if errorCode in FARM_NOTICES:
            self.notices.append(errorCode)
        else:
            self.events.put(("error", (reqId, errorCode, errorString)))

    def wait(self, name, until=None, timeout=10.0):
        """Events named `name` up to and including the one `until` accepts
        (default: the first); fails on an unexpected error."""
        got = []
        while True:
            try:
                kind, args = self.events.get(timeout=timeout)
            except queue.Empty:
                raise Failed(f"timed out waiting for {name} (got {got})")
            if kind == "error" and name != "error":
                raise Failed(f"error while waiting for {name}: {args}")
            if kind == name:
                got.append(args)
                if until is None or until(args):
                    return got


def record(name):
    def method(self, *args):
        self.events.put((name, args))
    return method


for _name in RECORDED:
    setattr(App, _name, record(_name))


def stock(symbol):
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = symbol, "STK", "SMART", "USD"
    return c


def check(condition, what):
    if not condition:
        raise Failed(what)


def run(app, expected_time):
    ids = app.wait("nextValidId")
    check(app.serverVersion() == 226, f"server version {app.serverVersion()}")
    next_id = ids[0][0]
    check(next_id >= 1, f"next valid id {next_id}")
    app.reqIds(-1)
    check(app.wait("nextValidId")[0][0] == next_id, "reqIds answer")
    app.reqCurrentTime()
    check(app.wait("currentTime")[0][0] == expected_time, "current time")
    check(sorted(app.notices) == sorted(FARM_NOTICES), f"farm notices {app.notices}")

    # Contract details and the option chain.
    app.reqContractDetails(1, stock("SPY"))
    rows = app.wait("contractDetails")
    app.wait("contractDetailsEnd")
    spy = rows[0][1].contract
    check(spy.conId > 0 and spy.symbol == "SPY", f"SPY details {spy}")
    app.reqSecDefOptParams(2, "SPY", "", "STK", spy.conId)
    chain = app.wait("securityDefinitionOptionParameter")[0]
    app.wait("securityDefinitionOptionParameterEnd")
    _, exchange, under_id, _, multiplier, expirations, strikes = chain
    check(exchange == "SMART" and under_id == spy.conId and multiplier == "100",
          f"chain header {chain[:5]}")
    check(len(expirations) >= 8 and len(strikes) > 50, "chain size")

    # Underlying snapshot for the spot.
    app.reqMktData(3, stock("SPY"), "", True, False, [])
    ticks = app.wait("tickPrice", until=lambda a: a[1] == 2)
    app.wait("tickSnapshotEnd")
    bid = next(a[2] for a in ticks if a[1] == 1)
    ask = next(a[2] for a in ticks if a[1] == 2)
    check(0 < bid < ask, f"SPY bid {bid} ask {ask}")
    spot = (bid + ask) / 2

    # Every call of one expiry (strike unset), then the ATM and +5 strikes.
    expiry = sorted(expirations)[3]
    calls = Contract()
    calls.symbol, calls.secType, calls.exchange, calls.currency = "SPY", "OPT", "SMART", "USD"
    calls.lastTradeDateOrContractMonth, calls.right = expiry, "C"
    app.reqContractDetails(4, calls)
    listed = []
    while True:
        kind, args = app.events.get(timeout=10)
        if kind == "contractDetails":
            listed.append(args[1].contract)
        elif kind == "contractDetailsEnd":
            break
        elif kind == "error":
            raise Failed(f"option lookup: {args}")
    check(len(listed) > 20, f"{len(listed)} calls listed")
    listed.sort(key=lambda c: c.strike)
    atm = min(range(len(listed)), key=lambda i: abs(listed[i].strike - spot))
    low, high = listed[atm], listed[atm + 5]
    check(low.right == "C" and low.multiplier == "100", f"option {low}")

    # Option snapshot with IV and greeks.
    app.reqMktData(5, low, "", True, False, [])
    comps = app.wait("tickOptionComputation", until=lambda a: a[1] == 13)
    app.wait("tickSnapshotEnd")
    model = comps[-1]
    iv, delta, gamma, vega = model[3], model[4], model[7], model[8]
    check(0.05 < iv < 2.0, f"implied vol {iv}")
    check(0.2 < delta < 0.8, f"ATM delta {delta}")
    check(gamma > 0 and vega > 0, f"gamma {gamma} vega {vega}")

    # The vertical as a BAG.
    bag = Contract()
    bag.symbol, bag.secType, bag.exchange, bag.currency = "SPY", "BAG", "SMART", "USD"
    legs = []
    for leg_contract, action in ((low, "BUY"), (high, "SELL")):
        leg = ComboLeg()
        leg.conId, leg.ratio, leg.action, leg.exchange = leg_contract.conId, 1, action, "SMART"
        legs.append(leg)
    bag.comboLegs = legs
    width = high.strike - low.strike

    def limit(price, what_if=False):
        o = Order()
        o.action, o.orderType, o.totalQuantity, o.lmtPrice = "BUY", "LMT", 1, price
        o.whatIf = what_if
        o.orderRef = "python-conformance"
        return o

    # What-if: one OpenOrder with margin fields, nothing else.
    app.placeOrder(next_id, bag, limit(width, what_if=True))
    _, _, _, state = app.wait("openOrder")[0]
    margin = float(state.initMarginChange)
    check(0 < margin <= width * 100 + 1e-6, f"what-if margin change {margin}")
    check(float(state.commissionAndFees) > 0, f"what-if commission {state.commissionAndFees}")

    # A marketable order: filled, with executions and commission reports.
    order_id = next_id + 1
    app.placeOrder(order_id, bag, limit(width))
    execs, reports, filled = {}, {}, False
    while not (filled and len(reports) == len(execs) and execs):
        kind, args = app.events.get(timeout=10)
        if kind == "error":
            raise Failed(f"combo order: {args}")
        if kind == "execDetails":
            execs[args[2].execId] = args
        elif kind == "commissionAndFeesReport":
            reports[args[0].execId] = args[0]
        elif kind == "orderStatus" and args[0] == order_id and args[1] == "Filled":
            check(float(args[2]) == 1 and float(args[3]) == 0, f"filled status {args}")
            filled = True
    sides = {e[2].side for e in execs.values() if e[1].secType == "OPT"}
    check(sides == {"BOT", "SLD"}, f"leg sides {sides}")
    check(set(reports) == set(execs), "a commission report per execution")
    check(all(e[2].orderRef == "python-conformance" for e in execs.values()), "orderRef")

    # Positions: long the lower strike, short the upper.
    app.reqPositions()
    positions = {}
    while True:
        kind, args = app.events.get(timeout=10)
        if kind == "position":
            positions[args[1].conId] = float(args[2])
        elif kind == "positionEnd":
            break
    app.cancelPositions()
    check(positions == {low.conId: 1.0, high.conId: -1.0}, f"positions {positions}")

    # Account summary.
    app.reqAccountSummary(9, "All", "NetLiquidation,TotalCashValue,BuyingPower")
    summary = {}
    while True:
        kind, args = app.events.get(timeout=10)
        if kind == "accountSummary":
            check(args[1] == ACCOUNT and args[4] == "USD", f"summary row {args}")
            summary[args[2]] = float(args[3])
        elif kind == "accountSummaryEnd":
            break
    app.cancelAccountSummary(9)
    check(set(summary) == {"NetLiquidation", "TotalCashValue", "BuyingPower"}, f"{summary}")
    check(summary["TotalCashValue"] < 100_000, "cash paid the debit")

    # A resting order: listed, then cancelled (202).
    resting = order_id + 1
    app.placeOrder(resting, bag, limit(0.01))
    app.wait("orderStatus", until=lambda a: a[0] == resting and a[1] == "Submitted")
    app.reqOpenOrders()
    open_ids = []
    while True:
        kind, args = app.events.get(timeout=10)
        if kind == "openOrder":
            open_ids.append(args[0])
        elif kind == "openOrderEnd":
            break
    check(open_ids == [resting], f"open orders {open_ids}")
    app.cancelOrder(resting, OrderCancel())
    cancelled = cancel_notice = False
    while not (cancelled and cancel_notice):
        kind, args = app.events.get(timeout=10)
        if kind == "orderStatus" and args[0] == resting and args[1] == "Cancelled":
            cancelled = True
        elif kind == "error" and args[0] == resting and args[1] == 202:
            cancel_notice = True
        elif kind == "error":
            raise Failed(f"cancel: {args}")

    # reqExecutions replays the fills with the default (match-all) filter.
    app.reqExecutions(10, ExecutionFilter())
    replayed = set()
    while True:
        kind, args = app.events.get(timeout=10)
        if kind == "execDetails":
            check(args[0] == 10, "execution reqId")
            replayed.add(args[2].execId)
        elif kind == "execDetailsEnd":
            break
    check(replayed == set(execs), f"replayed {len(replayed)} of {len(execs)}")


def main():
    port, expected_time = int(sys.argv[1]), int(sys.argv[2])
    app = App()
    app.connect("127.0.0.1", port, clientId=11)
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    try:
        run(app, expected_time)
    except (Failed, queue.Empty) as e:
        print(f"FAILED: {e!r}")
        app.disconnect()
        sys.exit(1)
    app.disconnect()
    print("ok")


if __name__ == "__main__":
    main()
