#!/usr/bin/env python3
"""hand_sale.py - one sale appended by hand, as another program would, for the tests.

    hand_sale.py DATA_PATH [--lock-held] [--seq-jump N] [--fields JSON]
    hand_sale.py DATA_PATH [--lock-held] --raise-stock N

Takes the lock as the protocol says (flock on DATA_PATH.lock; with --lock-held the caller
holds it already, so the sale cannot wait behind a race that sells out meanwhile), appends
one order entry whose seq is N past the last entry's (1: keeps the protocol; more: forges
history), with the keys in --fields replacing the entry's own (an odd `run`, a `buyer` that
is a name, extra keys), then writes the data file to match, so only what was changed on
purpose gives it away.
Exits non-zero, saying why, if the stock was sold out first: a buyer that keeps the protocol
never sells what is not there, and the test's race ended too soon.

With --raise-stock it writes no entry: under the lock it raises `ticket_num` by N and swaps
the data file in, the edit a person makes in a text editor.
"""

import argparse
import fcntl
import json
import os
import sys

ENTRY = 160  # every ledger entry is exactly this many bytes, the newline included


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data_path")
    p.add_argument("--lock-held", action="store_true")
    p.add_argument("--seq-jump", type=int, default=1)
    p.add_argument("--fields", type=json.loads, default={})
    p.add_argument("--raise-stock", type=int, default=None)
    args = p.parse_args()
    d = args.data_path
    with open(d + ".lock", "r+") as lock:
        if not args.lock_held:
            fcntl.flock(lock, fcntl.LOCK_EX)
        if args.raise_stock is not None:
            raise_stock(d, args.raise_stock)
            return
        log = os.open(d + ".orders", os.O_RDWR | os.O_APPEND)
        last = json.loads(os.pread(log, ENTRY, os.fstat(log).st_size - ENTRY))
        with open(d) as f:
            data = json.load(f)
        if data["seq"] != last["seq"]:
            sys.exit("the data file is not settled with the order log")
        if data["ticket_num"] <= 0:
            sys.exit("sold out before the hand sale: the race ended too soon")
        entry = {"seq": last["seq"] + args.seq_jump, "kind": "order", "run": "py-hand",
                 "buyer": 0, "pid": os.getpid(), "before": data["ticket_num"],
                 "after": data["ticket_num"] - 1}
        entry.update(args.fields)
        line = json.dumps(entry, separators=(",", ":")).encode()
        os.write(log, line + b" " * (ENTRY - 1 - len(line)) + b"\n")
        data.update(ticket_num=entry["after"], seq=entry["seq"])
        replace(d, data)


def raise_stock(d, by):
    with open(d) as f:
        data = json.load(f)
    data["ticket_num"] += by
    replace(d, data)


def replace(d, data):
    with open(d + ".hand.tmp", "w") as tmp:
        json.dump(data, tmp)
    os.rename(d + ".hand.tmp", d)


if __name__ == "__main__":
    main()
