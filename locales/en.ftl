# grab-tickets in English. Messages are keyed by meaning; variables carry counts and names.
# zh.ftl has the same messages in Simplified Chinese (a test checks both say every one).

## Shared words (show/words.rs)

buyer = buyer-{ $n }
buyers = buyers { $list }
buyer-with-pid = { $who } (pid { $pid })
list-and = { $init } and { $last }
list-separator = {", "}
list-groups = {"; "}
list-more = { $shown }, ... ({ $more } more)
millis = { $ms } ms
count-tickets = { $n ->
    [one] 1 ticket
   *[other] { $n } tickets
}
count-buyers = { $n ->
    [one] 1 buyer
   *[other] { $n } buyers
}
count-moves = { $n ->
    [one] 1 move
   *[other] { $n } moves
}
count-schedules = { $n ->
    [one] 1 schedule
   *[other] { $n } schedules
}
the-launcher = the launcher
scope-none = NO lock
scope-write = lock around the write only
scope-whole = lock around the whole purchase
lock-kind = { $kind ->
    [row] row lock
    [advisory] advisory lock
   *[file] lock
}
lock-whole = { lock-kind } around the whole purchase
lock-write = { lock-kind } around the write only
method-atomic = one atomic conditional UPDATE per purchase, no lock
method-serializable = SERIALIZABLE transactions retried on conflict, no lock
step = { $name }
store-stock = { $store ->
    [database] stock row
   *[file] data file
}
store-ledger = { $store ->
    [database] orders table
   *[file] order log
}

## The headline (show/headline.rs)

headline = { $buyers } race for { $stock } in { $place }, { $lock }
headline-stock-kept = the tickets in stock
headline-stepped = stepped by --schedule: every move comes when the schedule says, so this run replays exactly
headline-seed = --seed { $seed } replays the delays ({ $delay } ms){ $kills ->
    [yes] {" "}and kill points
   *[no] {""}
}, not who the kernel lets in first

## The report (show/text.rs)

report-heading = Report (race took { $ms } ms, seed { $seed })
report-heading-unseeded = Report (race took { $ms } ms)
why-label = Why:{" "}
row-stock-at-start = stock at start
row-confirmed = confirmed
result = { $result ->
    [bought] bought
    [sold_out] sold out
    [sold_out_after_buying] sold out after buying
    [lock_timeout] lock timeout
    [killed] killed
   *[failed] failed
}
buyer-bought = { $who } bought { $n }
row-lock-file-lost = lock file lost
note-lock-file-lost = deleted or replaced mid-run; { $who } locked the new one
row-left = left in { $stock }
note-read-back = read back from { $place }
count-unknown = unknown
note-not-read-back = could not be read back from { $place }
row-logged = { $store ->
    [database] in orders table
   *[file] in the order log
}
note-logged = orders this run
row-sold-by-others = sold by others
row-retries = retries
note-retries = purchases the database refused (a conflict) and the buyer ran again
row-oversold = oversold
note-oversold = sold beyond the stock
row-lost-updates = lost updates
note-lost-updates = sales the { $stock } does not show
row-unconfirmed = unconfirmed
note-unconfirmed = sold (in the { $ledger }) but the buyer died or failed before confirming
note-others = while this run raced: { $list }
other-sold = { $who } sold { $n }{ $count ->
    [0] {""}
    [one] {" "}pid { $pids }
   *[other] {" "}pids { $pids }
}
participant-run = grab-tickets run { $run }
participant-program = program '{ $run }'
problem-unsettled = the ledger could not be settled after the race, so this report reads the files as they are: { $error }
problem-foreign-restock = the stock was set from { $before } to { $after } by { $who } (pid { $pid }) during this race, against the protocol; counts below do not include it
error-protocol-violation = another program broke the lock protocol during this race: { $store ->
    [database] { $n ->
        [one] order id { $line } of grab_tickets.orders in { $ledger } breaks
       *[other] { $n } orders of grab_tickets.orders in { $ledger }, the first with id { $line }, break
    }
   *[file] { $n ->
        [one] line { $line } of { $ledger } breaks
       *[other] { $n } entries of { $ledger }, the first at line { $line }, break
    }
} the ledger's chain (see the report above); fix that program (docs/protocol.md says what a writer must do), then run without --keep-stock to restock
problem-forged-entry = { $store ->
    [database] order id { $line } in the { $ledger }
   *[file] line { $line } of the { $ledger }
} jumps to #{ $seq } after #{ $top }: { $who } (pid { $pid }) wrote it against the protocol (a writer that keeps it writes at most one past the highest seq), so it is not believed and not counted as a sale
problem-unreadable-entry = unreadable line in the { $ledger }: { $line }
problem-interrupted = INTERRUPTED: the race was stopped early; the buyers still running were killed, and every ticket below is accounted for
problem-failed = { $who } failed with exit code { $code }: { $message }
problem-killed = { $who } was killed { $by }; { $left }
killed-by-chaos-at = by fault injection { $at }
killed-by-chaos = by fault injection
killed-by-interrupt = by the interrupt
killed-by-signal = by signal { $signal } (not by this program)
problem-no-report = { $who } exited (code { $code }) without its report line
problem-no-report-no-code = { $who } exited (no code) without its report line
problem-lost-connections = the database server dropped { $n ->
    [one] 1 buyer's connection
   *[other] { $n } buyers' connections
} (a restart or a crash): each one stopped; what it had committed stands, what it had not was rolled back by the server, and the counts above were read back after the server returned
problem-kill-missed = fault injection planned to kill { $who } { $at }, but it never got there
problem-garbled = unreadable line from a buyer: { $line }
kill-point = at step { $step } of attempt { $attempt }
left-confirmed = it had { $n } confirmed
left-unconfirmed = {" "}and { $n } sold but unconfirmed (in the { $ledger })
left-finished-by = ; its order #{ $seq } reached the data file only when { $by } finished it (ticket_num = { $after })
left-nothing = : it died before buying, so nothing changed
left-nothing-database = : it died before its COMMIT, and the server rolled back whatever it had begun, so nothing changed
left-ledger-unread = it had { $n } confirmed; whether it sold more is not known (the { $ledger } could not be read back)
verdict-ok = OK: { count-tickets-of }, { $sold } sold{ $others ->
    [0] {""}
   *[other] {" "}by this run and { $others } by others
}
count-tickets-of = { $tickets ->
    [one] 1 ticket
   *[other] { $tickets } tickets
}
verdict-ok-unconfirmed = {" "}({ $n } of them logged by a buyer that died or failed before confirming)
verdict-ok-buyers = , { $n } { result }
verdict-oversold = OVERSOLD: { count-tickets-of }, { $confirmed } confirmed{ $others ->
    [0] {""}
   *[other] {" "}here and { $others } sold by others
} ({ $oversold } oversold), { $lost } lost { $lost ->
    [one] update
   *[other] updates
}
verdict-lost-updates = LOST UPDATES: { count-tickets-of }, { $confirmed } confirmed, but the { $stock } shows only { $sold } sold ({ $lost } lost)
verdict-mismatch = MISMATCH: { count-tickets-of }, { $confirmed } confirmed, { $logged } in the { $ledger }, { $remaining } left in the { $stock }
verdict-protocol-violation = PROTOCOL VIOLATION: { count-tickets-of }, { $confirmed } confirmed, { $logged } in the { $ledger }, but another program wrote { $forged ->
    [one] an entry that breaks
   *[other] { $forged } entries that break
} the { $ledger }'s chain during the race, so no count can judge this run (see "!" above)
verdict-changed-outside = CHANGED OUTSIDE THE PROTOCOL: { count-tickets-of }, { $confirmed } confirmed, { $logged } in the { $ledger }, but the { $stock } was changed by hand during the race, outside the lock protocol, so no count can judge this run (see "!" above)
verdict-stock-unknown = STOCK UNKNOWN: { count-tickets-of }, { $confirmed } confirmed, { $logged } in the { $ledger }, but the { $stock } could not be read back after the race, so whether every ticket is accounted for is not known
verdict-books-unknown = STOCK UNKNOWN: { count-tickets-of }, { $confirmed } confirmed, but neither the { $stock } nor the { $ledger } could be read back after the race, so how many were sold and whether every ticket is accounted for is not known

## "Why:" (show/cause.rs)

why-others = this run's buyers held the lock around every purchase; the count went wrong because others sold from the same stock meanwhile ({ $names }), and at least one of them did not keep the lock protocol (a race without the lock, say).
why-how-none = With no lock, nothing kept a buyer's read and its write together.
why-how-write = The lock covered only the write, not the read before it, so it came too late.
why-how-whole = The lock covered the whole purchase, so something outside the lock protocol changed the data file between a read and its write.
why-unstreamed = later writes overwrote earlier ones past the attempts the buyers narrate. { $how }
why-protocol-violation = another program wrote entries into the { $ledger } that no writer keeping the lock protocol writes, so the tally cannot tell this run's sales from its forgery; this run's own confirmations are above, and the program named in "!" is the one to fix.
why-changed-outside = something changed the { $stock } outside the lock protocol, with no entry in the ledger (a hand edit), so the counts above mix this run's sales with that change; restock (run without --keep-stock) before the next race.
why-stock-unknown = the { $stock } could not be read back after the race, so nothing here says whether updates were lost; the counts above are the buyers' confirmations and the orders, not the stock.
why-books-unknown = neither the { $stock } nor the { $ledger } could be read back after the race (the error below says why), so nothing here says what was sold or whether updates were lost; the only count above is the buyers' confirmations.
why-group-first = { $who } read ticket_num = { $n }
why-group = { $who } read { $n }
why-stale = { $groups }, but another buyer wrote between { $n ->
    [one] its read and its write, so it sold against an out-of-date count
   *[other] their read and their write, so they sold against out-of-date counts
}
why-current = ; { $who } sold against the current count
why-in-part = {" "}(in the attempts the buyers narrate, the first 100 of each)
why-sentence = { $sentence }. { $how }

## The narration (show/narrate/)
# $n is "one" for one buyer, "many" for several said together.

pid = pid { $pid }
say-searched = { $n ->
    [many] search: each sees { count-tickets-seen } left
   *[one] searches: sees { count-tickets-seen } left
}
count-tickets-seen = { $seen ->
    [one] 1 ticket
   *[other] { $seen } tickets
}
say-waits-for = { $n ->
    [many] wait
   *[one] waits
} for the lock, held by { $holder }
say-waits = { $n ->
    [many] wait
   *[one] waits
} for the lock (its holder has written no pid)
say-takes = { $n ->
    [many] take
   *[one] takes
} the lock
say-recovered = { $n ->
    [many] finish
   *[one] finishes
} order #{ $seq } of { $of }, who died after logging it: ticket_num = { $after }
say-read = { $n ->
    [many] read
   *[one] reads
} ticket_num = { $seen }
say-delay = network delay { $ms } ms ...
say-delays = network delays { $lo }–{ $hi } ms ...
say-wrote = { $n ->
    [many] write
   *[one] writes
} ticket_num = { $ticket_num }
say-bought = { $n ->
    [many] each BOUGHT
   *[one] BOUGHT
}, order #{ $seq }{ $again ->
    [yes] {" "}again
   *[no] {""}
}
say-sold-out = { $n ->
    [many] find
   *[one] finds
} no ticket left: sold out
say-released = { $n ->
    [many] release
   *[one] releases
} the lock
say-gives-up-on = { $n ->
    [many] give up
   *[one] gives up
} waiting for the lock (--lock-timeout), still held by { $holder }
say-gives-up = { $n ->
    [many] give up
   *[one] gives up
} waiting for the lock (--lock-timeout); its holder has written no pid
say-refused = REFUSED by the database: another purchase changed the stock after it read { $seen }; nothing was written, it tries again
say-killed = KILLED by fault injection at { $step }{ killed-holding }
say-killed-attempt = KILLED by fault injection at { $step } of attempt { $attempt }{ killed-holding }
killed-holding = { $holding ->
    [yes] , holding the lock: the kernel frees it
   *[no] {""}
}
say-failed = FAILED: { $message }
say-relocked = the lock file was { lock-file-change }; locked the new one
say-lock-lost = the lock file was { lock-file-change } while it held the lock, so the lock no longer kept anyone out: writes nothing, lets go and starts the purchase again
lock-file-change = { $change ->
    [deleted] deleted
   *[replaced] deleted or replaced
}
say-in-turn = in turn:{" "}
say-then = {", "}
say-then-sale = {"; "}
say-within = {" "}(within { $within })
step-spawned = (pid { $pid }) spawned
step-ready = has its files open and waits at the line for the starting gun
step-started = hears the starting gun
step-paused = pauses before its next move: { $next }
step-finished = finished: { $outcome ->
    [bought] got every ticket it wanted
    [sold_out] sold out
   *[lock_timeout] gave up on the lock
}, bought { $bought } in { $attempts ->
    [one] 1 attempt
   *[other] { $attempts } attempts
}{ $retries ->
    [0] {""}
    [one] {" "}and 1 retry
   *[other] {" "}and { $retries } retries
} (delays { $delays })
step-searched = (pid { $pid }) searches: sees { count-tickets-seen } left
step-takes-after = takes the lock after waiting { $waited }
step-recovered = finishes order #{ $seq } of { $of }, who died after logging it: ticket_num = { $after }
step-order-logged = order #{ $seq } is in the { store-ledger }
step-order-again = order #{ $seq } again: { $first } logged that number too, both deciding from the same stale count
step-bought = BOUGHT a ticket, confirmed: { $before } -> { $after } ({ $order })
step-sold-out = sold out: no ticket left
delays = { $list } ms
delays-none = none
files = run { $run }: data { $data }, lock { $lock }, order log { $log }
files-database = run { $run }: database { $place } (tables grab_tickets.stock and grab_tickets.orders)
files-trace = , trace { $path }
files-page = , page { $path }
move-describe = { $mv ->
    [s] search (read the count without buying)
    [l] ask for the lock
    [r] read the count it will decide on
    [w] check and write (order log, then data file)
   *[u] release the lock
}
move-name = { $mv ->
    [s] search
    [l] lock
    [r] read
    [w] write
   *[u] unlock
}

## The timeline (show/timeline/)

timeline-heading = Timeline ({ $span }, one column = { $column })
timeline-hidden = ... { $n ->
    [one] 1 more buyer
   *[other] { $n } more buyers
} not shown (--trace FILE draws every one)
timeline-first-write = first write ({ $who })
legend = {"Legend: "}
legend-entry = { $cell ->
    [undrawn] buying, not drawn step by step
    [delay] network delay, no lock
    [waiting] waiting for the lock
    [holding] holding the lock
    [gave_up] gave up or failed
    [refused] refused by the database, retried
    [sold_out] sold out
    [read] read
    [wrote] wrote
    [read_and_wrote] read and wrote
   *[killed] killed (SIGKILL)
}
note-read-then = read { $seen }, { $then }
note-read = read { $seen }
note-wrote = wrote { $n }
note-bought = bought { $n }
note-sold-out = sold out
note-bought-sold-out = bought { $n }, then sold out
note-bought-timed-out = bought { $n }, then timed out
note-gave-up = gave up on the lock
note-killed-at = killed at { $step }
note-killed = killed
note-failed = failed

## explore (show/explore/)

move-letter = { $letter } { $name }
explore-race = { $buyers } racing for { $tickets } ({ $lock })
explore-every = Every schedule of { $race }.
explore-pct = by PCT (random buyer priorities, the moving buyer demoted at { $steps ->
    [one] 1 random step
   *[other] { $steps } random steps
}; depth { $depth }
explore-uniform = uniformly (any buyer that can move, equally likely
explore-sampled = { $samples } sampled schedules of { $race }, drawn { $how }; seed { $seed }).
explore-each = Each one a race of real buyer processes on a fresh copy of { $data }; moves: { $moves }.
explore-row-interleavings = interleavings
explore-note-interleavings = every order of the buyers' moves
explore-row-distinct-run = distinct schedules
explore-note-distinct-run = run, one per group up to moves that commute
explore-row-sampled = sampled
explore-row-distinct = distinct
explore-note-distinct = different races (reorderings of independent moves count once)
explore-row-dead-ends = dead ends
explore-note-dead-ends = runs stopped part-way: every move left only reordered a schedule run elsewhere
explore-note-oversold = sold more than the stock (each also lost an update)
explore-row-lost-only = lost updates only
explore-note-lost-only = not oversold, but a sale the data file forgot
explore-row-mismatched = mismatched
explore-note-mismatched = counts that do not reconcile (see --json)
explore-row-ok = ended OK
explore-row-took = took
explore-first-bad = First bad schedule (#{ $index } of { $runs }): { $schedule }
tickets-line = Tickets: { $tickets }
replay-it = Replay it: { $command }
explore-interrupted = INTERRUPTED after { $runs ->
    [one] 1 schedule
   *[other] { $runs } schedules
}, { $bad } of them bad; the rest were not run.
explore-none-bad = No schedule went wrong: { $why ->
    [lock] with the lock around the whole purchase no order of the moves can sell a ticket twice.
    [enough] there are enough tickets for every buyer, so nobody can be overwritten into overselling; try fewer tickets.
   *[lucky] none of the orders run let two buyers decide on the same count.
}
explore-none-bad-counted = 0 of { $interleavings } interleavings ({ $schedules } distinct schedules) went wrong.
explore-none-bad-joined = { $counted } { $why }
explore-lesson = { $scope ->
    [none] without a lock, a buyer can decide on a count another buyer is about to change.
    [write] the lock around the write does not cover the read, so a buyer can still write a stale count.
   *[whole] this should not happen with the lock; please report it.
}
explore-interleavings-bad = { $bad } of { $total } interleavings { $how ->
    [oversell] oversell
   *[wrong] go wrong
} ({ $percent } %); they fall into { $schedules } distinct schedules up to moves that commute, { $bad_schedules } of them bad: { $lesson }
explore-some-bad = { $bad } of { $runs } sampled schedules went wrong ({ $percent } %): { $lesson }

## explore --power-cut (show/power_cut.rs)

power-title = Power cuts: { $buyers } buyers, { count-tickets-of }, { $fsync ->
    [yes] the order log fsynced before every confirmation
   *[no] no fsync before confirming (--no-fsync)
}. { $starts } real races recorded, one from each shop a run may start from:
power-start-line = From { $start }: { $steps } file operations, { $confirmed ->
    [one] 1 sale
   *[other] { $confirmed } sales
} confirmed.
power-start-empty = an empty directory (the run creates data.json, its lock file and its log)
power-start-hand-written = a hand-written data.json and no log yet (the lesson's start)
power-start-used-shop = a shop a run already used (--keep-stock; its sale confirmed before)
power-start-log-deleted = that shop with its order log deleted to start the ledger over (--tickets)
power-counts = {"    "}of them: { $torn } with a write torn at a sector boundary, { $zeroed } with zeros where a file grew, { $reordered } with an operation on disk ahead of an earlier one that was lost
power-recovered = { $recovered } distinct crash states in all (shared by starts and models), each recovered by the next run ({ $workers } at a time).
power-timeline = Timeline:
power-story-entry-lost = buyer-{ $buyer } was told at step { $confirmed } that it bought order #{ $seq }, but that order's entry (appended at step { $append }) was not yet flushed: no fdatasync of the log came between them, and the power cut { $fate ->
    [torn] tore it
    [zeroed] left only zeros of it
   *[other] took it
}.
power-story-name-lost = buyer-{ $buyer } was told at step { $confirmed } that it bought order #{ $seq }, and its entry was flushed, but the order log's name (created at step { $create }) never was: no fsync of the directory came after it, so the power cut took the whole log.
power-story-earlier = The run before this race told buyer-{ $buyer } it bought order #{ $seq }, and after the power cut that order is not in the ledger.
power-story-other = buyer-{ $buyer } was told at step { $confirmed } that it bought order #{ $seq }; its entry reached the disk, yet after recovery that order is not in the ledger.
power-story-refused = The next run refused what the cut left: the shop cannot go on without a person.
power-story-broken = No confirmed sale was lost, but the next run recovered the files wrongly:
power-model-weak = weak model (unsynced writes lost, torn, zero-filled; at most { $bound } reordered)
power-model-ordered = ordered model (ext4's default, data=ordered)
power-model-line = {"  "}{ $model }: { $states } crash states at { $cuts } cut points, { $distinct } distinct, each recovered by the next run: { $vulnerable } vulnerable
power-vulnerable-head = Vulnerable under the { $model }, from { $start }: the power went out after step { $cut } of { $steps }; of the { $unsynced } operations not yet synced, { $lost } never reached the disk (✓ reached it, ✗ lost, ≈ torn, 0 zero-filled; unmarked: synced, or nothing to lose):
power-went-wrong = What went wrong after the next run recovered it:
power-more = … and { $more } more vulnerable crash states under this model (--json lists them all).
power-verdict-safe = Every crash state recovered: no confirmed sale lost, nothing oversold, the ledger's chain whole, no file refused.
power-verdict-vulnerable = { $vulnerable } crash states recovered wrongly: a power cut at those moments breaks the promise.
power-took = took { $seconds } s
power-launcher = launcher
power-buyer-pid = buyer, pid { $pid }
power-op-pid = write pid { $pid } into the pid slot of { $name }
power-op-pid-blank = blank the pid slot of { $name }
power-op-create = create { $name }
power-op-write = write { $name }: { $text }
power-op-append-entry = append to { $name }: { $kind } #{ $seq } ({ $before } → { $after })
power-op-append = append { $bytes } bytes to { $name }
power-op-truncate = ftruncate { $name } to { $len } bytes
power-op-sync-file = fdatasync { $name }
power-op-sync-dir = fsync the directory
power-op-rename = rename { $from } → { $to }
power-op-exchange = exchange { $a } ⇄ { $b }
power-op-unlink = unlink { $name }
power-op-confirmed = confirms: bought the ticket of order #{ $seq }
power-fate-kept = {""}
power-fate-lost = {"  "}(lost)
power-fate-torn = {"  "}(torn: only the first { $kept } bytes)
power-fate-zeroed = {"  "}(zeros: the size reached the disk, the bytes did not)
power-problem-refused = the next run refused the files (exit { $exit }): { $message }
power-problem-sale-lost = buyer-{ $buyer } was told it bought the ticket of order #{ $seq }, but that order is not in the ledger
power-problem-oversold = { $sold } tickets sold of { $tickets }: oversold
power-problem-chain = the ledger's chain breaks at #{ $seq }: it does not continue from the entry before it
power-problem-no-restock = the ledger holds no restock: nothing records the stock its orders were sold from
power-problem-count = data.json says { $data } tickets left, the ledger { $ledger }
power-problem-unaccounted = { $sold } sold and { $remaining } left do not add up to the { $tickets } tickets in stock

## explore --interactive (show/explore/board.rs, explore/interactive.rs)

board-intro = You are the scheduler: { $buyers } race for { $tickets } ({ $lock }), real processes on a copy of { $data }.
    Each buyer is paused before its next move; type a buyer's number to let it make that move (h for help, q to quit).
    Moves: { $moves }.
board-count = ticket_num = { $n }
board-unreadable = unreadable
board-no-lock = no lock
board-lock-free = the lock is free
board-held = { $holder } holds the lock
board-held-waited = { $holder } holds the lock, { $waiter } waits for it
board-state = {"  "}data file: { $count }; { $lock }
board-next = next { $key }: { $what }
board-blocked = blocked in flock until { $holder } unlocks
board-done = done
board-prompt = Move which buyer? [1-{ $n }]{" "}
board-retype = Type a buyer's number from 1 to { $n }, h for help or q to quit.
board-help = Type a buyer's number to let it make the move shown beside it; q stops.
    A buyer's moves, in order:
board-help-sold-out = A buyer that reads 0 is sold out and stops.
stuck-done = { $who } has finished.
stuck-waiting = { $who } is blocked in flock, waiting for the lock that { $holder } holds; it goes on when { $holder } unlocks.
stuck-second-waiter = { $who } would wait for the lock too, but { $waiter } already waits for { $holder } to unlock; one buyer waits at a time (flock does not queue its waiters, so with two the kernel would choose who goes next).
stuck-lock-at-work = {" "}That is the lock at work: while one buyer is between its read and its write, nobody else can read.
lesson-wait = {"  "}{ $who } asked for the lock, but { $holder } holds it: { $who } is now blocked in flock. { $then }
lesson-wait-whole = It cannot read until { $holder } has written and unlocked, so it will see { $holder }'s sale: with the lock around the whole purchase, no order of moves can oversell.
lesson-wait-write = But the lock covers only the write: { $who } read its count before it asked, so once it gets the lock it writes what it read, even if { $holder } changed it.
lesson-oversold = {"  "}!! OVERSOLD: { $who } just sold a ticket that was already gone. It decided on ticket_num = { $seen }, read before { $other } wrote { $theirs }: that makes { $sold } sales of { $tickets }.
lesson-lost-update = {"  "}!! LOST UPDATE: { $who } wrote { $mine } over { $other }'s sale. It decided on ticket_num = { $seen }, read before { $other } wrote { $theirs }.
moral-locked = With the lock around the whole purchase you could not oversell, whatever order you chose.
moral-lucky = No oversell this time. Try letting every buyer read before any of them writes.
moral-bad = You made the race go wrong: a buyer wrote a count that another buyer's write had already made stale.
moral-mismatch = The counts do not reconcile; see the report above.
moral-protocol-violation = Another program broke the protocol; see the report above.
moral-stock-unknown = The stock could not be read back; see the report above.
interactive-stopped = { $n ->
    [0] Stopped before any move.
   *[other] Stopped after { count-moves }: { $schedule }
}
your-schedule = Your schedule: { $schedule }

## doctor (doctor/answer.rs)

doctor-heading = grab-tickets doctor: is it safe to race in { $dir }?
doctor-data = (the directory of the data file { $data }; the data file itself is not touched)
doctor-filesystem = Filesystem: { $name }, { $family }.
doctor-filesystem-unknown = Filesystem: unknown ({ $error }).
doctor-family-local = a disk of this machine
doctor-family-memory = kept in memory
doctor-family-overlay = an overlay (as a container's own filesystem is)
doctor-family-network = a network filesystem (the files are on another machine)
doctor-family-nine_p = 9p (under WSL 2: a Windows drive seen from Linux)
doctor-family-fuse = FUSE (a filesystem served by a user program)
doctor-family-host_share = a folder shared from a host or a VM
doctor-family-unknown = a filesystem grab-tickets does not know
doctor-probe-line = - { $probe }: { $verdict } ({ $took })
doctor-probe-line-untested = - { $probe }: { $verdict }
doctor-probe-exclusive_lock = the race's lock, across two processes
doctor-probe-flock_and_fcntl = flock and fcntl locks
doctor-probe-atomic_replace = replacing the data file
doctor-probe-file_fsync = fsync of a file
doctor-probe-directory_fsync = fsync of the directory
doctor-verdict-safe = safe
doctor-verdict-not-safe = NOT SAFE
doctor-verdict-cannot-test = cannot test
doctor-verdict-not-applicable = not applicable
doctor-outcome-lock_excludes = A second process was refused the lock (the race's own, on its lock file) while this one held it, and got it as soon as it was released: buyers here take turns.
doctor-outcome-lock_shared = A second process got the lock while this one held it: the lock excludes nobody here, so a locked race would oversell as if it had no lock.
doctor-outcome-lock_stuck = A second process was refused the lock, but never got it after it was released: buyers here would wait for ever.
doctor-outcome-lock_refused = Taking the lock failed: a locked race would stop with an error (exit 4) before selling anything.
doctor-outcome-kinds_separate = Each kind of lock excludes its own kind in another process, and the two are separate: a program that locks with fcntl or lockf does not exclude grab-tickets' buyers (they take flock). Every program sharing the file must take the same kind.
doctor-outcome-kinds_see_each_other = Each kind of lock excludes its own kind in another process, and the two see each other: flock is built on record locks here, as NFS and SMB do. A program locking with fcntl or lockf takes turns with the buyers too.
doctor-outcome-kinds_one_way = Each kind of lock excludes its own kind in another process, but the two see each other one way only: a program sharing the file must take flock, as the buyers do.
doctor-outcome-kinds_do_not_exclude = A lock did not exclude a second process's lock of the same kind: locks here do not keep processes apart.
doctor-outcome-one_lock_kind = Windows has one kind of lock (LockFileEx, which the race takes); there are no flock and fcntl locks to compare.
doctor-outcome-replace_atomic = A reader process read the data file { $whole } times while it was replaced { $swaps } times the race's way (a temp file swapped in), and saw it change { $changes } times: never missing, never partial.
doctor-outcome-replace_torn = While the data file was replaced { $swaps } times, a reader process found it missing { $missing } times, partial { $partial } times and unreadable { $failed } times (and whole { $whole } times): a buyer here could read no stock, or a broken one.
doctor-outcome-reader_saw_no_swap = A reader process read the data file { $whole } times but never saw one of the { $swaps } replaces happen (the machine was too busy?), so this proves nothing; run doctor again.
doctor-outcome-replace_failed = Replacing the data file the race's way failed after { $swaps } of { $planned } replaces, while a reader process read it in a loop (whole { $whole } times, refused { $failed } times): a buyer here could fail to sell while another one reads.
doctor-outcome-sync_works = It worked (no error). That says the call is honoured, not what a power cut keeps (docs/power-cuts.md).
doctor-outcome-sync_refused = It failed: a race that fsyncs (the default) would stop with an error here; --no-fsync runs, but a power cut may lose confirmed sales.
doctor-outcome-directory_sync_write_through = Windows cannot fsync a directory; the race's renames are written through (MOVEFILE_WRITE_THROUGH) instead.
doctor-outcome-no_directory = The directory does not exist, so nothing could be tested; create it (mkdir) and run doctor again.
doctor-outcome-not_writable = No file could be created in the directory, so nothing could be tested; a race here could not write its lock file either.
doctor-outcome-helper_failed = The second process this test needs did not answer as it should, so nothing is known.
doctor-error = Why: { $error }
doctor-kind-already-held = another program already holds a lock on { $path }, the checkup's own file
doctor-helper-silent = the second process gave no answer in { $s } s
doctor-helper-ended = the second process ended without answering
doctor-helper-unexpected = the second process said { $said } where { $due } was due
doctor-caveats = What the tests cannot show ({ $name }): { $caveat }
doctor-caveat-local = none known: the locks, the replace and fsync are this machine's kernel's own.
doctor-caveat-memory = the race works as on a disk, but nothing here survives a reboot, and fsync keeps nothing.
doctor-caveat-overlay = locks taken here reach only the programs that use this same mount; if this is a container, programs on the host (or in other containers) that open the files underneath do not see them. Share a directory with the host through a volume or bind mount, and run doctor on it.
doctor-caveat-network = these tests ran on this machine only. Locks reach programs on other machines only if the server's lock service works and every machine uses it, and another machine may read an old copy of the data file from its cache. Race on a local disk, or keep the stock in PostgreSQL (--store).
doctor-caveat-nine_p = locks are between the Linux programs only; Windows programs do not see them, and every call goes through the 9p server. Race in the Linux filesystem (your home directory, ~/) instead.
doctor-caveat-fuse = whether locks work, and whether they reach anyone else, depends on the program that serves this filesystem (sshfs forwards none to the server); the tests show this machine only.
doctor-caveat-host_share = locks may not reach programs on the other side of the share (the host or the VM), whatever the tests here say.
doctor-caveat-unknown = grab-tickets does not know this filesystem; trust the tests above, which ran on this machine only.
doctor-interrupted = grab-tickets doctor: interrupted; its own files were removed, and nothing is concluded about this directory
doctor-left = Could not remove the checkup's own files: { $names }
doctor-overall-safe = Verdict: safe to race in this directory, on this machine (exit { $code }, { $took }).
doctor-overall-not-safe = Verdict: NOT SAFE to race in this directory (exit { $code }, { $took }): see what failed above.
doctor-overall-cannot-test = Verdict: cannot test this directory, so it is not known to be safe (exit { $code }, { $took }).

## A stepped run (show/schedule.rs)

schedule-taken = Schedule: { $schedule }
schedule-misfit-then = {"  "}! { $error }; from there the race ran in buyer order
schedule-partly = {"  "}(the { $n } steps given, then the rest in buyer order)
schedule-misfit = step { $step } of --schedule, '{ $turn }', does not fit this race: { $why }
ticket-to = ticket { $ticket } to { $buyers }{ $times ->
    [1] {""}
    [2] {" "}(sold twice)
   *[other] {" "}(sold { $times } times)
}
tickets-none-for = { $buyers } got none
tickets-none-sold = none sold

## The progress line (show/progress.rs)

progress-left = { count-tickets } left
progress-unknown = ? tickets left
progress-line = { $left }, { $waiting } waiting
progress-template = buyers done{", "}

## Errors (main.rs, exit.rs)

error-line = grab-tickets: error: { $error }

## The classroom page (show/html.rs, page.html); "{name}" is filled in by the page

page-tickets-left = tickets left
page-the-lock = the lock
page-time = time
page-free = free
page-held-by = held by { $who }
page-start = start
page-step = step
page-play = play
page-pause = pause
page-speed = speed
page-paced = one step a second
page-aria-race = the race
page-tip-restart = back to the start (Home)
page-tip-back = one step back (Left arrow)
page-tip-play = play or pause (Space)
page-tip-forward = one step forward (Right arrow)
page-report = Report
page-show-result = show the result
page-step-of = step { $k } of { $n }
page-ready-to-race = Press play or step: { $buyers } buyer processes are about to race for { $tickets } tickets.
page-ready = ready
page-searched = searched: sees { $seen }
page-recovered = finished order #{ $seq } of { $who }
page-delay = network delay { $ms } ms
page-bought = BOUGHT (order #{ $seq })
page-bought-again = BOUGHT { $k } (order #{ $seq })
page-killed = KILLED at { $step }
page-failed = FAILED
page-legend-read = R read the count
page-legend-wrote = W wrote it
page-legend-sold-out = x saw 0: sold out
page-legend-killed = K killed (SIGKILL)

## Errors: what failed (exit.rs's Error::io), and the data file's

io-read-power-cut-record = read power-cut record
io-run-the-next-run = run the next run
io-start-the-recorded-race = start the recorded race
io-wait-for-the-recorded-race = wait for the recorded race
io-append-to-order-log = append to order log
io-create-directory = create directory
io-create-page = create page
io-create-temp-file = create temp file
io-create-trace-file = create trace file
io-fsync-directory = fsync directory
io-fsync-order-log = fsync order log
io-inspect-data-file = inspect data file
io-inspect-lock-file = inspect lock file
io-inspect-order-log = inspect order log
io-lock = lock
io-lock-the-race-gate-on = lock the race gate on
io-open-data-file = open data file
io-open-directory = open directory
io-open-order-log = open order log
io-read = read
io-read-directory = read directory
io-read-data-file = read data file
io-read-order-log = read order log
io-read-symbolic-link = read symbolic link
io-remove = remove
io-replace-data-file = replace data file
io-trim-order-log = trim order log
io-write = write
io-write-page = write page
io-write-temp-file = write temp file
io-write-trace-file = write trace file
error-kill-at-no-buyer = --kill-at { $kill } names buyer-{ $buyer }, but this run has { $buyers ->
    [one] 1 buyer (buyer-1)
   *[other] { $buyers } buyers (buyer-1 to buyer-{ $buyers })
}; name one of them, or raise --buyers
error-kill-at-no-attempt = --kill-at { $kill } names attempt { $attempt }, but each buyer makes { $attempts ->
    [one] 1 attempt
   *[other] at most { $attempts } attempts
} (--per-buyer { $attempts }); { $attempts ->
    [one] name attempt 1
   *[other] name an attempt from 1 to { $attempts }
}, or raise --per-buyer
error-io = failed to { $action } { $path }: { $error }{ $hint }
error-hint-permission = ; check that you may write to this directory (or use --data elsewhere)
error-hint-not-found = ; check that the directory exists
error-data-shape = it must hold a JSON object like {"{"}"ticket_num": 3{"}"}
error-data-not-object = data file { $path } is not a JSON object; { $shape }
error-data-unparsed = failed to parse data file { $path }: { $error }; { $shape }
error-data-no-ticket-num = data file { $path } has no "ticket_num" field; { $shape }
error-data-missing = data file { $shown } does not exist; run without --keep-stock to create it with --tickets N, or create it with: { $command }
error-data-deleted-during-race = data file { $shown } was deleted during the race, so the stock could not be read back; every sale is still in the order log { $log }; run again with --tickets N to start a new stock
error-pg-stock-negative = the stock row's { $column } in grab_tickets.stock is { $value }, below zero: it was changed by hand; nothing was sold from it; set it by hand to a whole number (UPDATE grab_tickets.stock SET { $column } = 0), then run again with --tickets N to set a new stock
error-pg-stock-not-whole = the stock row's { $column } in grab_tickets.stock is not a whole number (the column's type was changed by hand); nothing was sold from it; drop the schema grab_tickets and run again with --tickets N
error-pg-stock-deleted-during-race = the stock row in { $shown } was deleted during the race, so the stock could not be read back; every sale is still in grab_tickets.orders; run again with --tickets N to set a new stock

## Outputs that would overwrite the shop (app.rs, shop/own_files.rs)

shop-file = { $what ->
    [lock] the lock file
    [log] the order log
   *[data] the data file
}
error-output-is-shop-file = --{ $flag } { $path } { $how ->
    [link] leads through a symbolic link to
    [hardlink] is a hard link to
   *[named] is
} { shop-file } { $shop }; an output never overwrites the shop's own files, so nothing was changed; choose another file, e.g. --{ $flag } { $example }
error-outputs-same-file = --trace and --html both name { $path }; give each its own file
error-data-path-is-directory-syntax = data path { $path } ends in "/", "." or "..", so it names a directory, not a file; nothing was created; point --data at a JSON file, e.g. --data { $example }

## Limits that hold before writing (shop/books.rs, data_file.rs, orders.rs)

error-data-would-grow-too-large = data file { $path } would reach { $len } bytes as its counts grow, more than the { $max } bytes every reader accepts; nothing was changed; remove at least { $spare } bytes of other fields
error-seq-no-room = the ledger of { $data } is at seq { $seq }, too close to the largest seq there may be ({ $max }) for this run to finish; nothing was changed; move { $data } and { $log } away to start a new ledger
error-seq-at-maximum = the order log { $log } has reached the largest seq there may be ({ $max }); nothing was written; move the data file and its log away to start a new ledger
error-log-seq-too-large = order log { $path } at line { $line } has seq { $seq }, more than the largest there may be ({ $max }); a program other than grab-tickets wrote it; nothing was changed

## The lock's waits and errors (shop/lock.rs, app.rs)

launcher-waiting-for-lock = grab-tickets: waiting for the lock on { $lock }, held by { $holder }
launcher-relocked = grab-tickets: the lock file { $lock } was { $change }; locked the new one
holder-another-process = another process
holder-pid = pid { $pid }
error-lock-timed-out = timed out after --lock-timeout { $ms } ms waiting for the lock on { $path }, held by { $holder }; another program is using this data file
error-lock-wait-interrupted = interrupted while waiting for the lock on { $path }
error-lock-keeps-vanishing = failed to lock { $path }: the lock file was deleted or replaced { $times } times in a row right after it was locked; something keeps removing it; stop it, then run again

## Errors from every corner of the program (shop/, race/, cli/, settings/, explore/, powercut/)
# The English is word for word what tests and docs quote; zh.ftl says the same for a class.

shown-relative = { $path } (relative to { $cwd })
file-kind = { $kind ->
    [directory] a directory
    [fifo] a named pipe (FIFO)
    [socket] a socket
    [device] a device
    [link] a symbolic link
   *[unknown] a file of an unknown kind
}
sidecar = { $what ->
    [lock] lock file
   *[log] order log
}
io-open-lock-file = open lock file
error-data-path-link-loop = data path { $path } goes through more than { $max } symbolic links; point --data at the file itself
error-data-path-foreign-link = data path { $path } is a symbolic link owned by another user (uid { $owner }) in a shared directory; grab-tickets follows only your own links there; point --data at the real file
error-data-path-is-directory = data path { $path } is a directory; point --data at a JSON file, e.g. --data { $example }
error-data-path-not-regular = data path { $path } is { $kind }, not a regular file; point --data at a JSON file like {"{"}"ticket_num": 3{"}"}
error-data-path-no-file = data path { $path } names no file; point --data at a JSON file
error-data-dir-missing = the directory of data file { $path } does not exist; create it with: mkdir -p { $dir }
error-data-dir-missing-to-create = cannot create data file { $path }: directory { $dir } does not exist; create it (mkdir -p { $mkdir }) or point --data at a file in an existing directory
error-data-became-link = data file { $path } became a symbolic link after the run resolved it; something is changing this directory under the run
error-sidecar-keeps-vanishing = failed to open { $what } { $path }: it keeps disappearing; something is deleting it while grab-tickets runs
error-sidecar-is-link = { $what } { $path } is a symbolic link; grab-tickets never follows links to its own files (in a shared directory a link may point at anyone's file); remove the link and grab-tickets creates a new { $what }
error-sidecar-hard-links = { $what } { $path } has { $links } hard links: another name shares its contents, and writing it would change that file too; if nothing else needs it, remove { $path } and grab-tickets creates a new { $what }
error-sidecar-not-regular = { $what } { $path } is { $kind }, not a regular file; move it away and grab-tickets creates a new { $what }
error-data-too-large-to-read = data file { $path } is larger than a ticket counter needs (at most { $max } bytes); is --data pointing at the right file?
error-temp-names-taken = failed to create a temp file beside { $path }: { $attempts } random names in a row were taken; something is filling the directory with names
error-data-duplicate-key = data file { $path } has the key "{ $key }" more than once; which one counts is ambiguous (programs disagree), so grab-tickets will not guess; keep one of them
error-count-field = "{ $name }" in data file { $path } { $problem }; set it to a whole number from 0 to { $max }
count-not-whole = is { $text }, but it must be a whole number
count-negative = is { $text }, but it cannot be negative
count-signed-zero = is { $text }, but a whole number is written without a sign
count-too-large = is { $text }, more than the maximum of { $max }
error-ledger-no-seq = data file { $path } has no "seq" but its order log { $log } has entries: the file was replaced without following the lock protocol; run grab-tickets without --keep-stock to restock it
error-ledger-disagrees = data file { $path } says { $tickets } { $tickets ->
    [one] ticket
   *[other] tickets
} at #{ $seq }, but its order log { $log } says { $after } there: the data file was changed without following the lock protocol; run without --keep-stock to restock (the ledger goes on from the restock)
error-ledger-does-not-continue = order log { $log } does not continue from data file { $path } (data at #{ $seq } with { $tickets } tickets, log at #{ $last }); something changed one of them without following the lock protocol; run without --keep-stock to restock (the ledger goes on from the restock)
error-log-unparsed = failed to parse order log { $path } at line { $line }: { $error }; every line must be a JSON object with whole numbers "seq", "before", "after" and a string "kind" (docs/protocol.md); a program other than grab-tickets wrote it wrong
error-race-gate-timed-out = timed out after --lock-timeout { $ms } ms waiting for the race of { $launchers } on { $path } to end; try again later, or join it with --keep-stock
error-race-gate-interrupted = interrupted while waiting for another race on { $path } to end
launcher-waiting-for-race = grab-tickets: waiting for the race of { $launchers } on { $path } to end before setting the stock (join it instead with --keep-stock)
launchers-another = another launcher
launchers-one = launcher pid { $pid }
launchers-many = launchers { $list }
launchers-and = {" "}and{" "}
error-atomic-needs-store = --atomic and --serializable need a database store (--store postgres://...)

# PostgreSQL: what failed and where ($target is the URL without its password).
error-pg-store-url = invalid --store '{ $url }': { $what }; expected postgres://USER@HOST:PORT/DB, e.g. postgres://app@localhost:5432/shop (a socket directory goes percent-encoded in the host: postgres://app@%2Fvar%2Frun%2Fpostgresql/shop)
pg-url-not-postgres = it does not start with postgres://
pg-url-no-host = it names no host
pg-url-no-database = it names no database (the /DB at the end)
error-pg-login = failed to log in to { $target }: { $error }; check the user and the password (in the URL, in PGPASSWORD or in the password file)
error-pg-no-database = failed to connect to { $target }: { $error }; create it first (createdb NAME) or name another database at the end of the URL
error-pg-connect = failed to connect to { $target }: { $error }
error-pg-password-missing = failed to log in to { $target }: the server asks for a password; put it in the URL (postgres://USER:PASSWORD@...), in PGPASSWORD or in a password file (~/.pgpass, PGPASSFILE or passfile= in the URL)
error-pg-password-missing-passfile-shared = failed to log in to { $target }: the server asks for a password, and the password file { $path } was skipped because others may read or write it (mode { $mode }), as libpq skips it; run { $command } to use it, or put the password in the URL or in PGPASSWORD
error-pg-password-missing-passfile-unreadable = failed to log in to { $target }: the server asks for a password, and the password file { $path } was skipped because it could not be read ({ $error }); make it readable by you, or put the password in the URL or in PGPASSWORD
error-pg-no-tls = failed to connect to { $target }: { $error }; the server does not offer TLS: leave sslmode out of the URL, or enable ssl on the server
error-pg-not-running = failed to connect to { $target }: { $error }; is the server running and listening there? (docs/postgres.md shows how to start one)
error-pg-lost-connection = lost the connection to { $target } while trying to { $action }: { $error }; the server rolls back whatever was not committed, so no half-made sale is left behind
error-pg-failed = failed to { $action } in { $target }: { $error }
error-pg-no-stock = { $target } has no stock yet (grab_tickets.stock is empty); run once without --keep-stock to set it (--tickets N)
error-pg-stock-gone = the stock row in { $target } is gone: it was there when the race started, so something deleted it during the race (grab_tickets.stock is empty); this buyer stops without buying; every sale so far is in grab_tickets.orders; run again with --tickets N to set a new stock
error-pg-lock-timed-out = timed out after --lock-timeout { $ms } ms waiting for the stock in { $target }, locked by { $holder }; another run is using this database
pg-stock-in = the stock in { $target }
pg-take-the-lock = take the lock
pg-set-the-stock = set the stock
pg-read-back-the-stock-and-the-orders = read back the stock and the orders
pg-create-the-grab_tickets-tables = create the grab_tickets tables
pg-prepare-the-purchase = prepare the purchase
pg-read-the-stock = read the stock
pg-record-the-order = record the order
pg-commit-the-purchase = commit the purchase
pg-roll-back-a-refused-purchase = roll back a refused purchase
pg-end-a-read-only-transaction = end a read-only transaction
pg-sell-a-ticket = sell a ticket
pg-record-the-race = record the race in grab_tickets.races
pg-read-the-grab_tickets-tables = read the grab_tickets tables
pg-read-the-connection-limits = read the server's connection limits
pg-count-the-connections = count the buyers' connections

# The processes (race/)
error-no-own-binary = failed to find own binary: { $error }
error-no-pipe = failed to create a pipe: { $error }
error-buyer-spawn = failed to start buyer-{ $n } ({ $exe }): { $error }
error-launcher-job = failed to make the group that ends the buyers with the launcher (a job object on Windows): { $error }
error-no-chooser = stepped buyers need a chooser; this is a bug in grab-tickets
error-buyer-reports = failed to read buyer reports: { $error }
error-buyer-bad-plan = a buyer got a bad plan from its launcher: { $error }; buyers are started by grab-tickets itself, not by hand
error-buyer-no-pipe = { $who } has no pipe to its launcher: { $error }
error-step-pipe = failed to open the step pipe on stdin: { $error }
error-kill-at-unreached-step = --kill-at { $kill } names a step this run never reaches; with these settings a purchase passes { $steps }
error-stepped-stuck = the stepped race is stuck: no buyer can move (lock held by { $holder }, waiting: { $waiter }); this is a bug in grab-tickets
error-step-send = failed to let { $who } make its move ({ $mv }): { $error }
launcher-step-stuck = grab-tickets: still waiting for { $who } to reach its next step after { $s } s; is another program holding the lock on the data file?
error-step-protocol = { $who } paused before its { $mv } without being let go: the step protocol is broken
error-step-gone = { $who } exited without reporting its next step
misfit-finished = { $who } had already finished
misfit-no-buyer = there is no { $who } (--buyers { $buyers })
misfit-other-move = { $who } is paused before its next move, { $turn } ({ $what }), not { $wanted }
error-report-to-stdout = failed to write the report to stdout: { $error }
error-a-buyer-failed = a buyer process failed; see the report above
stopped-at-once = grab-tickets: stopped at once by a second signal, without a report; the buyers were killed, and the next run settles the files

# explore and explore --power-cut
error-schedule-failed = schedule "{ $schedule }" failed: { $why }
schedule-buyer-failed = { $who }: { $message }
schedule-buyer-ended = { $who } ended { $how }
schedule-protocol-broken = a buyer broke the report protocol
error-summary-to-stdout = failed to write the summary to stdout: { $error }
explore-progress = {"  "}{ $n } schedules run ...
error-no-own-program = failed to find this program: { $error }
error-recorded-race-failed = the recorded race failed: { $stderr }
error-record-unparsed = failed to parse power-cut record { $path } at line { $line }: { $error }
error-record-inconsistent = power-cut record { $path } does not add up: { $why }
record-used-before-created = { $name } is used before it is created
record-not-hex = { $text } is not hex

# The command line's values (cli/bounds.rs, cli/resolve.rs, settings/)
error-out-of-range = { $flag } { $value } is out of range; use { $lo } to { $hi }{ $hint }
range-open = use a whole number, { $lo } or more
range-closed = use a whole number from { $lo } to { $hi }
value-negative = it cannot be negative; { $range }
value-not-whole = not a whole number; { $range }
value-too-large = { $n } is too large; { $range }
hint-explore-sample = ; every schedule of more buyers is too many to run: sample them with --random N
error-depth-with-uniform = --depth is the PCT sampler's; leave it out with --sampler uniform
error-schedule-too-few-buyers = --schedule names buyer-{ $named }, but --buyers is { $buyers }; use --buyers { $named } or leave --buyers out
error-schedule-moves = --schedule "{ $schedule }": { $error }
delay-malformed = invalid delay range '{ $text }': expected LO..HI in milliseconds, e.g. 100..300
delay-reversed = invalid delay range '{ $text }': LO ({ $lo }) is greater than HI ({ $hi }); write it as { $hi }..{ $lo }
delay-too-long = invalid delay range '{ $text }': at most { $max } ms is allowed
per-buyer-invalid = invalid value '{ $text }': expected a whole number of tickets (1 or more) or 'all'
step-unknown = unknown step '{ $text }'; use one of { $names }
kill-at-malformed = invalid --kill-at '{ $text }': expected BUYER:STEP[:ATTEMPT], e.g. 2:order_logged
schedule-cannot-move = { $who } cannot move { $moves }: { $lock ->
    [none] with NO lock
    [write] with the lock around the write only
   *[whole] with the lock around the whole purchase
} a buyer moves { $buys } ({ $sold_out } when it reads 0){ $more ->
    [one] {""}
   *[many] , and again without the search for each further ticket
}
schedule-step-invalid = invalid schedule step '{ $word }': { $why }; write each step as a buyer number and a move letter (s search, l lock, r read, w write, u unlock), e.g. "1s 2s 1r 2r 1w 2w"
schedule-step-buyer-range = buyers are numbered 1 to { $max }
schedule-step-no-number = it does not start with a buyer number
schedule-step-not-a-move = '{ $letter }' is not a move
schedule-step-no-letter = the move letter is missing
schedule-step-two-letters = one move letter per step
schedule-empty = the schedule is empty; give steps like "1s 2s 1r 2r 1w 2w"

# Clap's refusals (cli/refusal.rs). English runs print clap's own words, which these repeat.
clap-refusal = { $what }; { $hint }
clap-unknown-argument = unexpected argument '{ $arg }' found
clap-unknown-subcommand = unrecognized subcommand '{ $name }'
clap-value-missing = a value is required for '{ $arg }' but none was supplied
clap-invalid-value = invalid value '{ $value }' for '{ $arg }'
clap-because = : { $why }
clap-possible-values = { $line } [possible values: { $values }]
clap-missing-arguments = the following required arguments were not provided: { $args }
clap-conflict = the argument '{ $arg }' cannot be used with '{ $other }'
clap-repeated = the argument '{ $arg }' cannot be used multiple times
clap-extra-value = unexpected value '{ $value }' for '{ $arg }' found; no more were expected
clap-tip-argument = a similar argument exists: '{ $similar }'
clap-tip-subcommand = a similar subcommand exists: '{ $similar }'
clap-tip-value = a similar value exists: '{ $similar }'
clap-tip-help = see 'grab-tickets --help'

# The lock and the platform (shop/lock.rs, sys/)
error-lock-unsupported = failed to lock { $path }: { $error }; this filesystem does not support file locks, so the race cannot be prevented here; put the data file on a local filesystem (--data /tmp/tickets/data.json)
error-replaced-while-open = { $path } was replaced while open
error-not-a-directory = { $path } is not a directory

# The JSON parser's finding (shop/document.rs); English runs print serde_json's own words.
json-problem = { $kind ->
    [eof] the JSON ends too early, at line { $line } column { $column }
    [data] a value of the wrong type at line { $line } column { $column }
   *[syntax] not valid JSON at line { $line } column { $column }
}

## The database's edges (issue 20: race/secret.rs, shop/pg/)

error-buyer-stdin = a buyer failed to open the pipe from its launcher on stdin: { $error }
error-buyer-secret-line = a buyer got a bad first line from its launcher on stdin ({ $reason }); buyers are started by grab-tickets itself, not by hand
error-pg-race-beside-unlocked = an unlocked race is running on the stock in { $shown } (run { $run }, launcher pid { $pid }, { $theirs }): it writes counts it read without a lock, so it may oversell, and no lock this run takes can stop it; nothing was changed; wait for it to end, then run with { $mine } again (or race beside it unlocked too, with { $theirs })
launcher-unlocked-beside-locked = grab-tickets: a locked race is running on the stock in { $shown } (run { $run }, launcher pid { $pid }, { $theirs }); this unlocked run ({ $mine }) may oversell it
error-pg-stock-changed-by-hand = the stock row in { $shown } says { $count } { $count ->
    [one] ticket
   *[other] tickets
} at #{ $seq }, but grab_tickets.orders says { $logged } at #{ $logged_seq }: the stock row was changed without following the lock protocol; run without --keep-stock to restock (the ledger goes on from the restock)
error-pg-stock-changed-mid-race = order id { $id } in grab_tickets.orders sold from { $before } tickets at #{ $seq }, but { $known ->
    [none] no order left the stock at #{ $seq }
   *[other] the order before it left { $known } there
}: the stock row in { $shown } was changed without following the lock protocol during the race; run without --keep-stock to restock (the ledger goes on from the restock)
error-pg-too-few-connections = { $shown } can take only { $free } more { $free ->
    [one] connection
   *[other] connections
} now: { $which ->
    [database] the database's CONNECTION LIMIT is
    [role] the role's CONNECTION LIMIT is
   *[server] the server allows this user (max_connections, less any slots reserved for superusers)
} { $limit } and { $used } { $used ->
    [one] is
   *[other] are
} in use, but { $buyers } buyers need one each; nothing was changed; run with --buyers { $free } or fewer, or raise { $which ->
    [database] the database's CONNECTION LIMIT
    [role] the role's CONNECTION LIMIT
   *[server] max_connections on the server
}
error-pg-buyers-not-logged-in = only { $logged_in } of { $buyers } buyers could log in to { $shown } (a buyer was refused, failed, or was too slow; what a buyer said is above); nothing was changed; { $logged_in ->
    [0] find out why no buyer could log in where the launcher could
   *[other] run with --buyers { $logged_in } or fewer, or free connections on the server
}
error-pg-login-wait-interrupted = interrupted while waiting for the buyers to log in to { $shown }; nothing was changed
error-pg-seq-no-room = the ledger in { $shown } is at seq { $seq }, too close to the largest seq there may be ({ $max }) for this run to finish; nothing was changed; drop the schema grab_tickets (DROP SCHEMA grab_tickets CASCADE, its orders go with it) to start a new ledger
error-pg-seq-at-maximum = the stock in { $shown } has reached the largest seq there may be ({ $max }); nothing was written; drop the schema grab_tickets to start a new ledger
error-pg-column-changed = { $table }.{ $column } in { $shown } is { $found }, but grab-tickets made it { $expected }: the table was changed by hand; nothing was changed; change it back, or drop the schema grab_tickets (DROP SCHEMA grab_tickets CASCADE) and run again with --tickets N
pg-column-missing = missing
error-buyer-before-race = grab-tickets: buyer-{ $n } stopped before the race: { $error }
