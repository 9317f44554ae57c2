#!/usr/bin/env python3
"""outsider_buyer.py - an independent buyer for the ticket lock protocol.

Written from docs/protocol.md alone ("Buying one ticket").  Standard library only.

    outsider_buyer.py DATA_PATH --tickets K|all [--run NAME] [--buyer N]
                      [--delay-ms LO..HI] [--no-fsync] [--seed S] [--verbose]

Keeps buying one ticket at a time from DATA_PATH (= D) until it holds K
confirmed tickets or the stock is sold out, then prints one JSON line:
    {"run": NAME, "pid": PID, "confirmed": N, "sold_out": bool, "seqs": [...]}

Exit status: 0 done (K bought or sold out); 3 a protocol violation was
detected (or D cannot be sold from, e.g. replaced by hand); 1 an I/O error or
an unfinishable sale; 2 bad command line.  On a non-zero exit the JSON line is
still printed (with an extra "error" key) so confirmed sales are not lost.
"""

import argparse
import errno
import fcntl
import json
import json.decoder
import os
import random
import re
import secrets
import stat
import sys
import time

ENTRY = 160                 # every ledger entry is exactly this many bytes
MAX_DOC = 64 * 1024         # D is at most 64 KiB
MAX_TICKETS = 1_000_000_000
MAX_SEQ = 2**63 - 1         # the largest seq there may be
ENTRY_KEYS = ("seq", "kind", "run", "buyer", "pid", "before", "after")
WHOLE = re.compile(r"[0-9]+")    # a whole number: digits only, no sign/fraction/exponent
PID_SLOT = 12               # first 12 bytes of D.lock
MAX_LINKS = 40              # links followed at D's last component
SCAN_CHUNK = 64             # entries read per pread when searching back
WS = " \t\n\r"


class Violation(Exception):
    """Someone broke the protocol (or D cannot be sold from): exit 3."""


class Fatal(Exception):
    """An I/O failure or an unfinishable sale: exit 1."""


# --------------------------------------------------------------------------
# D: a JSON object whose other fields must be kept verbatim and in order.
# --------------------------------------------------------------------------

def _skip_ws(text, i):
    n = len(text)
    while i < n and text[i] in WS:
        i += 1
    return i


class Doc:
    """Top-level fields of D kept as raw text, so that every field we do not
    own (and its order, and its exact number formatting) survives a rewrite."""

    _decoder = json.JSONDecoder()

    def __init__(self, fields):
        # fields: list of [key, raw_key_text, value, raw_value_text]
        self.fields = fields

    @classmethod
    def parse(cls, data):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise Violation(f"D is not UTF-8: {e}")
        fields, seen = [], set()
        try:
            i = _skip_ws(text, 0)
            if text[i] != "{":
                raise ValueError("not a JSON object")
            i = _skip_ws(text, i + 1)
            if text[i] == "}":
                i += 1
            else:
                while True:
                    if text[i] != '"':
                        raise ValueError(f"expected a key at offset {i}")
                    key, j = json.decoder.scanstring(text, i + 1)
                    raw_key = text[i:j]
                    i = _skip_ws(text, j)
                    if text[i] != ":":
                        raise ValueError(f"expected ':' at offset {i}")
                    i = _skip_ws(text, i + 1)
                    value, j = cls._decoder.raw_decode(text, i)
                    raw_value = text[i:j]
                    if key in seen:
                        raise ValueError(f"key {key!r} appears more than once")
                    seen.add(key)
                    fields.append([key, raw_key, value, raw_value])
                    i = _skip_ws(text, j)
                    if text[i] == ",":
                        i = _skip_ws(text, i + 1)
                        continue
                    if text[i] == "}":
                        i += 1
                        break
                    raise ValueError(f"expected ',' or '}}' at offset {i}")
            if _skip_ws(text, i) != len(text):
                raise ValueError("trailing data after the object")
        except (ValueError, IndexError) as e:
            raise Violation(f"D is not a valid JSON object: {e}")
        doc = cls(fields)
        for key, _, _, raw_value in fields:
            if key in ("ticket_num", "seq") and not WHOLE.fullmatch(raw_value):
                raise Violation(f"D.{key} is {raw_value}, not a whole number "
                                f"written as digits")
        tn = doc.get("ticket_num")
        if not _is_whole(tn) or tn > MAX_TICKETS:
            raise Violation(f"D.ticket_num is missing or not a whole number "
                            f"0..{MAX_TICKETS}: {tn!r}")
        if doc.has("seq") and not _is_whole(doc.get("seq")):
            raise Violation(f"D.seq is not a whole number: {doc.get('seq')!r}")
        return doc

    @classmethod
    def fresh(cls, ticket_num, seq):
        return cls([["ticket_num", '"ticket_num"', ticket_num, str(ticket_num)],
                    ["seq", '"seq"', seq, str(seq)]])

    def has(self, key):
        return any(f[0] == key for f in self.fields)

    def get(self, key, default=None):
        for f in self.fields:
            if f[0] == key:
                return f[2]
        return default

    @property
    def ticket_num(self):
        return self.get("ticket_num")

    @property
    def seq(self):
        return self.get("seq")

    def updated(self, ticket_num, seq):
        """A copy with ticket_num and seq replaced in place (seq inserted right
        after ticket_num if D had none); every other field untouched."""
        out, have_seq = [], self.has("seq")
        for key, raw_key, value, raw_value in self.fields:
            if key == "ticket_num":
                out.append([key, raw_key, ticket_num, str(ticket_num)])
                if not have_seq:
                    out.append(["seq", '"seq"', seq, str(seq)])
            elif key == "seq":
                out.append([key, raw_key, seq, str(seq)])
            else:
                out.append([key, raw_key, value, raw_value])
        return Doc(out)

    def encode(self):
        return ("{" + ",".join(f"{rk}:{rv}" for _, rk, _, rv in self.fields)
                + "}").encode("utf-8")


def _is_whole(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


# --------------------------------------------------------------------------
# The buyer
# --------------------------------------------------------------------------

def resolve_data_path(path):
    """The protocol's symbolic-link rule: follow the chain of links at the path's
    last component (up to 40, each target relative to its link's directory) and use
    the final path; refuse a link owned by neither us nor the directory's owner in a
    sticky world-writable directory."""
    for _ in range(MAX_LINKS):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return path
        if not stat.S_ISLNK(st.st_mode):
            return path
        parent = os.path.dirname(path) or "."
        dst = os.stat(parent)
        shared = dst.st_mode & stat.S_ISVTX and dst.st_mode & stat.S_IWOTH
        if shared and st.st_uid not in (os.geteuid(), dst.st_uid):
            raise Violation(f"{path} is another user's symbolic link in the sticky "
                            f"shared directory {parent}: refused")
        path = os.path.join(parent, os.readlink(path))
    raise Violation(f"{path}: more than {MAX_LINKS} symbolic links")


class Buyer:
    def __init__(self, args):
        self.path = resolve_data_path(args.data_path)
        self.dir = os.path.dirname(os.path.abspath(self.path))
        self.base = os.path.basename(self.path)
        self.lock_path = self.path + ".lock"
        self.log_path = self.path + ".orders"
        self.run = args.run
        self.buyer = args.buyer
        self.fsync = not args.no_fsync
        self.delay = args.delay_ms
        self.verbose = args.verbose
        self.rng = random.Random(args.seed)     # delays only; temp names use secrets
        self.pid = os.getpid()
        self.lock_fd = None
        self.lock_writable = False
        self.log_fd = None
        self.purchases = 0          # attempts that reached the commit point
        self.test_fail_swap = args.test_fail_swap
        self.test_die_after_commit = args.test_die_after_commit
        # Refuse a run name whose entries could not fit in 160 bytes.
        probe = self.entry(10**15, "restock", MAX_TICKETS, MAX_TICKETS)
        assert len(probe) == ENTRY

    # ---- ledger entries -------------------------------------------------

    def entry(self, seq, kind, before, after):
        if seq > MAX_SEQ:
            raise Violation(f"the next seq, {seq}, would pass the largest there may be "
                            f"({MAX_SEQ}); nothing was written")
        obj = {"seq": seq, "kind": kind, "run": self.run, "buyer": self.buyer,
               "pid": self.pid, "before": before, "after": after}
        body = json.dumps(obj, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")
        if len(body) > ENTRY - 1:
            raise Fatal(f"ledger entry would be {len(body)} bytes of JSON "
                        f"(max {ENTRY - 1}); use a shorter --run name")
        return body + b" " * (ENTRY - 1 - len(body)) + b"\n"

    @staticmethod
    def parse_entry(raw, index):
        """One entry by the protocol's rules: the JSON object its 160 bytes
        hold, JSON whitespace around it; whole numbers as digits; each of its
        keys once, after unescaping."""
        where = f"ledger entry #{index} (byte {index * ENTRY})"
        if len(raw) != ENTRY or b"\0" in raw:
            raise Violation(f"{where} is not {ENTRY} bytes without NUL")

        def no_repeats(pairs):
            keys = [k for k, _ in pairs]
            for k in ENTRY_KEYS:
                if keys.count(k) > 1:
                    raise ValueError(f"key {k!r} appears more than once")
            return dict(pairs)

        class Spelled(int):
            """An integer that remembers how it was written."""

        def spelled(text):
            number = Spelled(int(text))
            number.text = text
            return number

        try:
            # Floats stay floats (never whole); other keys may hold anything.
            obj = json.loads(raw.decode("utf-8"), object_pairs_hook=no_repeats,
                             parse_int=spelled)
        except ValueError as e:
            raise Violation(f"{where} is unreadable: {e}")
        if not isinstance(obj, dict):
            raise Violation(f"{where} is not a JSON object")
        for key in ("seq", "before", "after"):
            value = obj.get(key)
            if not _is_whole(value) or not WHOLE.fullmatch(value.text):
                raise Violation(f"{where} has no whole-number {key}: {raw.strip()!r}")
        if obj["seq"] > MAX_SEQ:
            raise Violation(f"{where} has seq {obj['seq']}, above {MAX_SEQ}")
        if not isinstance(obj.get("kind"), str):
            raise Violation(f"{where} has no string kind: {raw.strip()!r}")
        return obj

    def pread_all(self, n, off):
        buf = b""
        while len(buf) < n:
            chunk = os.pread(self.log_fd, n - len(buf), off + len(buf))
            if not chunk:
                break
            buf += chunk
        return buf

    def append(self, raw):
        """One write(2) on the O_APPEND descriptor.  Returns True if the
        whole entry went in."""
        return os.write(self.log_fd, raw) == ENTRY

    # ---- files ------------------------------------------------------------

    def doc_mode(self):
        """D's permission bits, which a created sidecar or temp file gets."""
        try:
            return stat.S_IMODE(os.stat(self.path).st_mode)
        except FileNotFoundError:
            return None

    def open_sidecar(self, path, flags):
        """Opens D.lock or D.orders as the protocol says: never through a symbolic
        link (O_NOFOLLOW), only a regular file with one hard link; a missing one is
        created with O_CREAT|O_EXCL|O_NOFOLLOW and D's permission bits.  Returns
        (fd, created)."""
        while True:
            try:
                fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC)
                created = False
            except FileNotFoundError:
                mode = self.doc_mode()
                try:
                    fd = os.open(path, flags | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                                 | os.O_CLOEXEC, 0o666 if mode is None else mode)
                except FileExistsError:
                    continue            # someone created it first: open theirs
                if mode is not None:
                    os.fchmod(fd, mode)  # exactly D's bits, whatever the umask
                created = True
            except OSError as e:
                if e.errno == errno.ELOOP:
                    raise Violation(f"{path} is a symbolic link: refused")
                raise
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                os.close(fd)
                raise Violation(f"{path} is not a regular file with one hard link: "
                                f"refused")
            return fd, created

    def open_lock(self):
        # never O_TRUNC
        try:
            self.lock_fd, _ = self.open_sidecar(self.lock_path, os.O_RDWR)
            self.lock_writable = True
        except PermissionError:
            self.lock_fd, _ = self.open_sidecar(self.lock_path, os.O_RDONLY)
            self.lock_writable = False

    def lock(self):
        while True:
            try:
                fcntl.flock(self.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if self.verbose:
                    holder = os.pread(self.lock_fd, PID_SLOT, 0).decode(
                        "ascii", "replace").strip()
                    print(f"[{self.run}/{self.pid}] waiting for lock"
                          + (f" held by pid {holder}" if holder else ""),
                          file=sys.stderr)
                fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
            if self.locked_the_lock_file():                     # step 1's check
                break
            # Deleted or replaced while we waited: our lock excludes nobody.
            fcntl.flock(self.lock_fd, fcntl.LOCK_UN)
            os.close(self.lock_fd)
            self.open_lock()
        if self.lock_writable:
            try:
                os.pwrite(self.lock_fd, f"{self.pid:<{PID_SLOT - 1}}\n"
                          .encode("ascii"), 0)
            except OSError:
                pass    # the pid slot is only for messages

    def locked_the_lock_file(self):
        """Whether the lock path still names the file we hold the lock on."""
        try:
            now = os.stat(self.lock_path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        mine = os.fstat(self.lock_fd)
        return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)

    def unlock(self):
        if self.lock_writable:
            try:
                os.pwrite(self.lock_fd, b" " * (PID_SLOT - 1) + b"\n", 0)
            except OSError:
                pass
        fcntl.flock(self.lock_fd, fcntl.LOCK_UN)

    def open_log(self):
        """Open (creating if missing, never truncating) the order log."""
        self.log_fd, created = self.open_sidecar(self.log_path,
                                                 os.O_RDWR | os.O_APPEND)
        if created and self.fsync:
            dfd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def read_doc(self):
        """Returns (raw bytes or None if D is missing, permission bits)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None, None
        try:
            mode = stat.S_IMODE(os.fstat(fd).st_mode)
            chunks, total = [], 0
            while total <= MAX_DOC:
                c = os.read(fd, MAX_DOC + 1 - total)
                if not c:
                    break
                chunks.append(c)
                total += len(c)
        finally:
            os.close(fd)
        data = b"".join(chunks)
        if len(data) > MAX_DOC:
            raise Violation(f"{self.path} is larger than {MAX_DOC} bytes")
        return data, mode

    def stage(self, doc, mode):
        """Write the complete new D to a fresh temp file in D's directory
        (O_CREAT|O_EXCL).  Returns its path."""
        data = doc.encode()
        if len(data) > MAX_DOC:
            # A reader refuses a D over the limit: never write one.
            raise Violation(f"the new {self.path} would be {len(data)} bytes, more "
                            f"than the {MAX_DOC} every reader accepts; nothing was "
                            f"written")
        for _ in range(1000):
            # D + something nobody can guess + .tmp, as the protocol names temp files.
            name = os.path.join(
                self.dir, f"{self.base}.py{self.pid}.{secrets.token_hex(8)}.tmp")
            try:
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                             | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
            except FileExistsError:
                continue
            try:
                if mode is not None:
                    os.fchmod(fd, mode)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            except BaseException:
                os.close(fd)
                _unlink_quiet(name)
                raise
            os.close(fd)
            return name
        raise Fatal(f"could not create a temp file in {self.dir}")

    def rewrite_doc(self, doc, mode):
        """Step 7 outside a sale: stage and rename the new D in."""
        tmp = self.stage(doc, mode)
        try:
            os.rename(tmp, self.path)
        except OSError as e:
            _unlink_quiet(tmp)
            raise Fatal(f"could not replace {self.path}: {e}")

    # ---- step 4 -----------------------------------------------------------

    def trim_and_last(self):
        """Drop a torn tail; return (number of whole entries, last entry)."""
        size = os.fstat(self.log_fd).st_size
        end = size - size % ENTRY
        raw = b""
        while end > 0:
            raw = self.pread_all(ENTRY, end - ENTRY)   # the last whole entry
            if b"\0" not in raw:
                break
            end -= ENTRY
        if end != size:
            print(f"[{self.run}/{self.pid}] trimming torn tail of "
                  f"{self.log_path}: {size} -> {end} bytes", file=sys.stderr)
            os.ftruncate(self.log_fd, end)
        n = end // ENTRY
        if n == 0:
            return 0, None
        return n, self.parse_entry(raw, n - 1)

    def find_entry(self, n, seq):
        """Search back from the end of the ledger for the entry with this seq."""
        hi = n
        while hi > 0:
            lo = max(0, hi - SCAN_CHUNK)
            buf = self.pread_all((hi - lo) * ENTRY, lo * ENTRY)
            for k in range(hi - 1, lo - 1, -1):
                off = (k - lo) * ENTRY
                e = self.parse_entry(buf[off:off + ENTRY], k)
                if e["seq"] == seq:
                    return e
                if e["seq"] < seq:
                    return None     # seqs only grow back to here: it is not there
            hi = lo
        return None

    def bring_up_to_date(self):
        """Step 4: returns the up-to-date Doc and D's permission bits."""
        n, last = self.trim_and_last()
        data, mode = self.read_doc()
        if last is None:
            # No history: D is the truth.
            if data is None:
                raise Violation(f"{self.path} does not exist")
            if not data or b"\0" in data:
                raise Violation(f"{self.path} is empty or holds NUL bytes and "
                                f"the ledger has no entry to rebuild it from")
            return Doc.parse(data), mode

        l_seq, l_after = last["seq"], last.get("after")
        if not _is_whole(l_after) or l_after > MAX_TICKETS:
            raise Violation(f"last ledger entry (seq {l_seq}) has no valid "
                            f"'after': {l_after!r}")
        if data is None:
            # Not one of the cases the protocol names (rename never leaves D
            # missing); refuse rather than invent a data file.
            raise Violation(f"{self.path} does not exist but its ledger has "
                            f"{n} entries")
        if not data or b"\0" in data:
            # Power cut: rebuild D from the last entry.
            print(f"[{self.run}/{self.pid}] {self.path} is empty or holds NUL "
                  f"bytes: rebuilding it from ledger seq {l_seq}",
                  file=sys.stderr)
            doc = Doc.fresh(l_after, l_seq)
            self.rewrite_doc(doc, mode)
            return doc, mode

        doc = Doc.parse(data)
        if not doc.has("seq"):
            raise Violation(f"{self.path} has no seq but the ledger has "
                            f"{n} entries: it was replaced by hand; a buyer "
                            f"must not sell from it (only a restock may adopt it)")
        d_seq, d_num = doc.seq, doc.ticket_num
        if l_seq == d_seq:
            # Whatever its kind: an entry's numbers say what it did to the stock.
            if l_after != d_num:
                raise Violation(
                    f"{self.path} says seq {d_seq}, ticket_num {d_num} but the "
                    f"ledger entry with seq {l_seq} says after={l_after}: D was "
                    f"changed without the ledger")
            return doc, mode
        if l_seq > d_seq:
            e = self.find_entry(n, d_seq + 1)
            if e is None:
                raise Violation(
                    f"the ledger (last seq {l_seq}) does not continue from "
                    f"{self.path} (seq {d_seq}): no entry with seq {d_seq + 1}")
            if e.get("before") != d_num:
                raise Violation(
                    f"the ledger does not continue from {self.path} "
                    f"(seq {d_seq}, ticket_num {d_num}): entry seq {d_seq + 1} "
                    f"has kind {e.get('kind')!r}, before {e.get('before')!r}")
            print(f"[{self.run}/{self.pid}] finishing unfinished ledger entries: "
                  f"{self.path} seq {d_seq} -> {l_seq}", file=sys.stderr)
        else:
            print(f"[{self.run}/{self.pid}] {self.path} (seq {d_seq}) is ahead "
                  f"of the ledger (seq {l_seq}): unflushed sales were lost, "
                  f"writing D back", file=sys.stderr)
        doc = doc.updated(l_after, l_seq)
        self.rewrite_doc(doc, mode)
        return doc, mode

    # ---- one purchase -----------------------------------------------------

    def buy_one(self):
        """Returns ("sold_out", None), ("bought", seq), ("again", None) (the
        lock file went while we waited: start over) or raises.  The caller
        makes the sale durable (step 9)."""
        self.lock()                                             # steps 1, 3
        tmp = None
        try:
            if self.log_fd is None:
                self.open_log()
            doc, mode = self.bring_up_to_date()                 # step 4
            if self.delay is not None:                          # step 2
                lo, hi = self.delay
                time.sleep(self.rng.uniform(lo, hi) / 1000.0)
            num = doc.ticket_num
            if num == 0:                                        # step 5
                return "sold_out", None
            if self.delay is not None and not self.locked_the_lock_file():
                return "again", None    # step 6: time passed, the lock file went

            seq = (doc.seq or 0) + 1
            new = doc.updated(num - 1, seq)
            tmp = self.stage(new, mode)                         # step 6
            order = self.entry(seq, "order", num, num - 1)
            try:
                ok = self.append(order)
            except OSError as e:
                raise Fatal(f"could not append to {self.log_path}: {e} "
                            f"(no sale)")
            if not ok:
                raise Fatal(f"short write appending to {self.log_path} "
                            f"(no sale; the torn tail is trimmed by the next "
                            f"lock holder)")
            # ---- commit point: the sale stands from here on ----
            self.purchases += 1
            if self.test_die_after_commit == self.purchases:
                os._exit(9)                 # test hook: die between 6 and 7
            try:                                                # step 7
                if self.test_fail_swap == self.purchases:
                    raise OSError("simulated swap failure (test hook)")
                os.rename(tmp, self.path)
                tmp = None
            except OSError as e:
                _unlink_quiet(tmp)
                tmp = None
                void = self.entry(seq + 1, "void", num - 1, num)
                try:
                    voided = self.append(void)
                except OSError:
                    voided = False
                if voided:
                    raise Fatal(f"could not swap in the new {self.path}: {e}; "
                                f"order seq {seq} voided by seq {seq + 1}")
                # The order stands; the next lock holder finishes it (step 4).
                print(f"[{self.run}/{self.pid}] could not swap in the new "
                      f"{self.path} ({e}) nor void order seq {seq}: the sale "
                      f"stands and the next lock holder finishes it",
                      file=sys.stderr)
            return "bought", seq
        finally:
            if tmp is not None:
                _unlink_quiet(tmp)
            self.unlock()                                       # step 8

    def durable(self):
        if self.fsync:                                          # step 9
            os.fdatasync(self.log_fd)


def _unlink_quiet(path):
    try:
        os.unlink(path)
    except OSError:
        pass


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def _tickets(s):
    if s == "all":
        return None
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number or 'all'")
    if v < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return v


def _delay(s):
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:\.\.\s*(\d+(?:\.\d+)?)\s*)?", s)
    if not m:
        raise argparse.ArgumentTypeError("expected LO..HI milliseconds, e.g. 0..5")
    lo = float(m.group(1))
    hi = float(m.group(2)) if m.group(2) is not None else lo
    if hi < lo:
        raise argparse.ArgumentTypeError("HI must be >= LO")
    return (lo, hi)


def _run(s):
    if not s:
        raise argparse.ArgumentTypeError("must not be empty")
    if re.fullmatch(r"[0-9a-fA-F]{16}", s):
        raise argparse.ArgumentTypeError(
            "16 hex digits is reserved for grab-tickets run ids")
    return s


def _buyer(s):
    v = int(s)
    if v < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return v


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("data_path", metavar="DATA_PATH")
    p.add_argument("--tickets", type=_tickets, required=True,
                   metavar="K|all", help="tickets to buy, or 'all' until sold out")
    p.add_argument("--run", type=_run, default="py-outsider")
    p.add_argument("--buyer", type=_buyer, default=0)
    p.add_argument("--delay-ms", type=_delay, default=None, metavar="LO..HI",
                   help="random delay held inside the lock, between reading "
                        "and deciding")
    p.add_argument("--no-fsync", action="store_true",
                   help="skip fdatasync of the log (and fsync of the directory)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--verbose", action="store_true",
                   help="say on stderr when waiting for the lock")
    # Test hooks (self_test.sh): simulate failures at the N-th committed order.
    p.add_argument("--test-fail-swap", type=int, default=None,
                   help=argparse.SUPPRESS)
    p.add_argument("--test-die-after-commit", type=int, default=None,
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    want = args.tickets
    seqs, sold_out, error, code = [], False, None, 0
    try:
        b = Buyer(args)
        b.open_lock()
        while want is None or len(seqs) < want:
            outcome, seq = b.buy_one()
            if outcome == "again":
                continue
            if outcome == "sold_out":
                sold_out = True
                break
            try:
                b.durable()
            except OSError as e:
                raise Fatal(f"fdatasync of {b.log_path} failed: {e}; order "
                            f"seq {seq} stands in the ledger but is not "
                            f"confirmed")
            seqs.append(seq)                # confirmed
    except Violation as e:
        error, code = f"protocol violation: {e}", 3
    except Fatal as e:
        error, code = str(e), 1
    except OSError as e:
        error, code = f"I/O error: {e}", 1
    except KeyboardInterrupt:
        error, code = "interrupted", 130
    if error:
        print(f"outsider_buyer [{args.run}/pid {os.getpid()}]: {error}",
              file=sys.stderr)
    out = {"run": args.run, "pid": os.getpid(), "confirmed": len(seqs),
           "sold_out": sold_out, "seqs": seqs}
    if error:
        out["error"] = error
    print(json.dumps(out), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
