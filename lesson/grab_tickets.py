#!/usr/bin/env python3
"""模拟抢票 -- the course's ticket-grabbing program, written the way the lesson writes it.

One multiprocessing.Process per buyer. Each buyer first searches (查票: reads data.json and
prints the tickets left), then buys (买票: reads data.json again, waits a random "network
delay", and if ticket_num > 0 takes one and writes the file back). Without a lock every buyer
reads before anyone writes, so they all see the same ticket and the shop sells tickets it never
had (超卖). With --lock, a multiprocessing.Lock around buy() makes buying serial (互斥锁: 将并发
变成串行, 牺牲了效率但是保障了数据的安全).

    python3 lesson/grab_tickets.py --no-lock --buyers 10 --tickets 1
    python3 lesson/grab_tickets.py --lock    --buyers 10 --tickets 1 --delay-ms 100..300

Additions to the lesson, so a run can be checked (and timed by benches/bench.py): the data file
is stocked with --tickets first, the delay range is a flag (the lesson's random.randint(1, 3)
seconds is --delay-ms 1000..3000), each buyer reports what it did on a multiprocessing.Queue
(the same notes teach Queue), the parent join()s its buyers, and the last line is
RESULT {"sold": ..., "left": ...}: sold counts buyers who printed 买票成功, left is the file's
ticket_num at the end. sold > tickets is overselling. Python 3 standard library only.
"""
import argparse
import json
import os
import random
import sys
import time
from multiprocessing import Lock, Process, Queue

HERE = os.path.dirname(os.path.abspath(__file__))

# What a buyer prints, in the lesson's words (zh) or in English (en).
WORDS = {
    "zh": {
        "search": "%s在查票 当前余票为:%s",
        "bought": "%s买票成功",
        "unlucky": "%s很倒霉 没有抢到票",
        "name": "用户%s",
        "main": "主进程: %s个用户抢%s张票, %s",
        "lock": "加互斥锁",
        "no_lock": "不加锁",
        "error": "%s出错了 (另一个用户正写到一半, 读到的 data.json 不完整?): %s",
    },
    "en": {
        "search": "%s is searching; tickets left: %s",
        "bought": "%s bought a ticket",
        "unlucky": "%s is unlucky: no ticket",
        "name": "buyer%s",
        "main": "main: %s buyers, %s ticket(s), %s",
        "lock": "with a mutex (multiprocessing.Lock)",
        "no_lock": "no lock",
        "error": "%s failed (was another buyer half-way through writing data.json?): %s",
    },
}


def delay_range(text):
    """LO..HI milliseconds, or one number N for N..N."""
    lo, sep, hi = text.partition("..")
    try:
        lo_ms = int(lo)
        hi_ms = int(hi) if sep else lo_ms
    except ValueError:
        raise argparse.ArgumentTypeError("expected LO..HI in milliseconds, e.g. 1000..3000")
    if lo_ms < 0 or hi_ms < lo_ms:
        raise argparse.ArgumentTypeError("expected 0 <= LO <= HI, e.g. 1000..3000")
    return lo_ms, hi_ms


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--lock", dest="lock", action="store_true", default=True,
                       help="put a multiprocessing.Lock around buy() (the default)")
    group.add_argument("--no-lock", dest="lock", action="store_false",
                       help="no lock: the race the lesson starts with")
    ap.add_argument("--buyers", type=int, default=10, help="buyer processes (default 10)")
    ap.add_argument("--tickets", type=int, default=1, help="tickets to stock (default 1)")
    ap.add_argument("--delay-ms", type=delay_range, default=(1000, 3000), metavar="LO..HI",
                    help="random network delay in ms (default 1000..3000, the lesson's 1-3 s)")
    ap.add_argument("--data", default=os.path.join(HERE, "data.json"),
                    help="the shared data file (default: data.json beside this script)")
    ap.add_argument("--lang", choices=sorted(WORDS), default="zh",
                    help="print the lesson's Chinese (zh, default) or English (en)")
    args = ap.parse_args()
    if args.buyers < 1 or args.tickets < 0:
        ap.error("--buyers must be at least 1 and --tickets at least 0")
    return args


def say(line):
    """Prints one line in one write: ten buyers share one stdout, and a print() may write its
    text and its newline separately (it does when Python is unbuffered), so two buyers' lines
    would run together."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# 查票
def search(path, name, words):
    with open(path, "r", encoding="utf8") as f:
        data = json.load(f)
    say(words["search"] % (name, data.get("ticket_num")))


# 买票
def buy(path, name, delay, words):
    # 再次确认票
    with open(path, "r", encoding="utf8") as f:
        data = json.load(f)
    # 模拟网络延迟
    time.sleep(random.randint(*delay) / 1000.0)
    # 判断是否有票 有就买
    if data.get("ticket_num") > 0:
        data["ticket_num"] -= 1
        with open(path, "w", encoding="utf8") as f:
            json.dump(data, f)
        say(words["bought"] % name)
        return "bought"
    say(words["unlucky"] % name)
    return "unlucky"


def run(name, path, delay, words, lock, results):
    try:
        search(path, name, words)
        if lock is None:
            outcome = buy(path, name, delay, words)
        else:
            with lock:  # 互斥锁: only one buyer at a time re-reads, checks and writes
                outcome = buy(path, name, delay, words)
        results.put((name, outcome, ""))
    except Exception as e:  # e.g. a JSONDecodeError: another buyer was half-way through writing
        results.put((name, "error", repr(e)))


def main():
    args = parse_args()
    words = WORDS[args.lang]
    folder = os.path.dirname(os.path.abspath(args.data))
    os.makedirs(folder, exist_ok=True)
    with open(args.data, "w", encoding="utf8") as f:
        json.dump({"ticket_num": args.tickets}, f)
    print(words["main"] % (args.buyers, args.tickets,
                           words["lock"] if args.lock else words["no_lock"]), flush=True)

    lock = Lock() if args.lock else None
    results = Queue()
    started = time.perf_counter()
    buyers = [Process(target=run, args=(words["name"] % i, args.data, args.delay_ms, words,
                                        lock, results))
              for i in range(args.buyers)]
    for p in buyers:
        p.start()  # 异步: ask the OS for a new process, do not wait for it
    reports = [results.get() for _ in buyers]
    for p in buyers:
        p.join()
    elapsed = time.perf_counter() - started

    with open(args.data, "r", encoding="utf8") as f:
        left = json.load(f).get("ticket_num")
    sold = sum(1 for _, outcome, _ in reports if outcome == "bought")
    errors = [(name, why) for name, outcome, why in reports if outcome == "error"]
    for name, why in errors:
        print(words["error"] % (name, why), file=sys.stderr)
    result = {
        "sold": sold, "left": left, "tickets": args.tickets, "buyers": args.buyers,
        "lock": "lock" if args.lock else "no-lock",
        "delay_ms": "%d..%d" % args.delay_ms, "oversold": max(0, sold - args.tickets),
        "errors": len(errors), "elapsed_s": round(elapsed, 4),
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":  # needed on Windows, where each Process imports this file afresh
    main()
