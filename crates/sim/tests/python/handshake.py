"""IB's official Python client (ibapi-latest) against the vspread simulator:
connect, startup sequence, reqIds, reqCurrentTime, reqManagedAccts.

usage: python3 handshake.py PORT EXPECTED_UNIX_TIME
Exits 0 when every answer is as expected, 1 otherwise (printing why).
"""
import sys
import threading

from ibapi.client import EClient
from ibapi.wrapper import EWrapper


class App(EWrapper, EClient):
    def __init__(self):
        EClient.__init__(self, self)
        self.next_ids = []
        self.accounts = []
        self.times = []
        self.notices = []
        self.done = threading.Event()

    def nextValidId(self, orderId):
        self.next_ids.append(orderId)
        if len(self.next_ids) == 1:
            self.reqIds(-1)
        elif len(self.next_ids) == 2:
            self.reqCurrentTime()

    def managedAccounts(self, accountsList):
        self.accounts.append(accountsList)

    def currentTime(self, time):
        self.times.append(time)
        self.reqManagedAccts()

    def error(self, reqId, errorTime, errorCode, errorString, advancedOrderRejectJson=""):
        self.notices.append((reqId, errorCode, errorString))
        if errorCode not in (2104, 2106, 2158):
            self.done.set()

    def check(self):
        if len(self.accounts) >= 2:
            self.done.set()


def main():
    port, expected_time = int(sys.argv[1]), int(sys.argv[2])
    app = App()
    original = app.managedAccounts

    def accounts(a):
        original(a)
        app.check()

    app.managedAccounts = accounts
    app.connect("127.0.0.1", port, clientId=11)
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    app.done.wait(timeout=10)
    version = app.serverVersion()
    app.disconnect()
    problems = []
    if version != 226:
        problems.append(f"server version {version}")
    if app.next_ids[:2] != [1000, 1000]:
        problems.append(f"next valid ids {app.next_ids}")
    if app.accounts[:2] != ["DU1234567", "DU1234567"]:
        problems.append(f"managed accounts {app.accounts}")
    if app.times[:1] != [expected_time]:
        problems.append(f"current time {app.times} (expected {expected_time})")
    codes = sorted(code for _, code, _ in app.notices)
    if codes != [2104, 2106, 2158]:
        problems.append(f"notices {app.notices}")
    if problems:
        print("; ".join(problems))
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
