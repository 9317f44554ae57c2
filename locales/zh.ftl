# grab-tickets 的简体中文。用词取自课程笔记：抢票、查票、余票、互斥锁、超卖、丢失更新、串行。
# 每条消息与 en.ftl 一一对应（有测试检查）。

## 共用的词（show/words.rs）

buyer = 用户{ $n }
buyers = 用户 { $list }
buyer-with-pid = { $who }（pid { $pid }）
list-and = { $init } 和 { $last }
list-separator = 、
list-groups = ；
list-more = { $shown } 等（另有 { $more } 个）
millis = { $ms } 毫秒
count-tickets = { $n } 张票
count-buyers = { $n } 个用户
count-moves = { $n } 步
count-schedules = { $n } 种调度
the-launcher = 主进程
scope-none = 不加锁
scope-write = 只在写入时加锁
scope-whole = 整个买票过程加互斥锁
lock-kind = { $kind ->
    [row] 行锁
    [advisory] 咨询锁
   *[file] 互斥锁
}
lock-whole = 整个买票过程加{ lock-kind }
lock-write = 只在写入时加{ lock-kind }
method-atomic = 每次购买一条原子的条件 UPDATE，不加锁
method-serializable = SERIALIZABLE 事务，冲突时重试，不加锁
step = { $name }
store-stock = { $store ->
    [database] 库存行
   *[file] 数据文件
}
store-ledger = { $store ->
    [database] 订单表
   *[file] 订单日志
}

## 开头两行（show/headline.rs）

headline = { $buyers }抢{ $kept ->
    [yes] {""}
   *[no] {" "}
}{ $stock }（{ $place }），{ $lock }
headline-stock-kept = 库存里现有的票
headline-stepped = 按 --schedule 逐步执行：每一步都在调度指定的时候发生，所以这次运行可以原样重放
headline-seed = --seed { $seed } 能重放网络延迟（{ $delay } 毫秒）{ $kills ->
    [yes] 和杀进程的位置
   *[no] {""}
}，不能重放内核先让谁拿到锁

## 报告（show/text.rs）

report-heading = 报告（抢票用时 { $ms } 毫秒，种子 { $seed }）
report-heading-unseeded = 报告（抢票用时 { $ms } 毫秒）
why-label = 原因：
row-stock-at-start = 开始时的余票
row-confirmed = 买票成功
result = { $result ->
    [bought] 买到票
    [sold_out] 没有抢到票
    [sold_out_after_buying] 买到几张后售罄
    [lock_timeout] 等锁超时
    [killed] 被杀死
   *[failed] 出错
}
buyer-bought = { $who }买到 { $n } 张
row-lock-file-lost = 锁文件丢失
note-lock-file-lost = 运行中被删除或替换；{ $who }锁住了新的锁文件
row-left = { $stock }中的余票
note-read-back = 从 { $place } 读回
count-unknown = 未知
note-not-read-back = 无法从 { $place } 读回
row-logged = { $store ->
    [database] 订单表中的订单
   *[file] 订单日志中的订单
}
note-logged = 本次运行的订单
row-sold-by-others = 别人卖出
row-retries = 重试
note-retries = 数据库拒绝（冲突）后用户重新执行的购买
row-oversold = 超卖
note-oversold = 卖出的票超过了库存
row-lost-updates = 丢失更新
note-lost-updates = { $stock }里没有记上的销售
row-unconfirmed = 未确认
note-unconfirmed = 已卖出（记在{ $ledger }里），但用户在确认前死掉或出错
note-others = 本次运行期间：{ $list }
other-sold = { $who }卖出 { $n } 张{ $count ->
    [0] {""}
   *[other] （pid { $pids }）
}
participant-run = grab-tickets 运行 { $run }
participant-program = 程序“{ $run }”
problem-unsettled = 抢票结束后无法结清账目，所以本报告按文件现状读取：{ $error }
problem-foreign-restock = 本次抢票期间，{ $who }（pid { $pid }）违反约定把库存从 { $before } 改成了 { $after }；下面的数字不包括这次改动
error-protocol-violation = 本次抢票期间另一个程序违反了锁协议：{ $store ->
    [database] { $ledger } 的 grab_tickets.orders 从 id 为 { $line } 的订单起
   *[file] { $ledger } 从第 { $line } 行起
}有 { $n } 条记录打断了账本的链条（见上面的报告）；先修好那个程序（docs/protocol.md 写明了写入者必须做什么），再不带 --keep-stock 运行一次来重新放票
problem-forged-entry = { $store ->
    [database] { $ledger }中 id 为 { $line } 的订单
   *[file] { $ledger }第 { $line } 行
}在 #{ $top } 之后跳到了 #{ $seq }：这是 { $who }（pid { $pid }）违反协议写下的（遵守协议的写入者最多只比最大序号多 1），所以不采信，也不算作一笔卖出
problem-unreadable-entry = { $ledger }中有一行无法读取：{ $line }
problem-interrupted = 已中断：抢票被提前停止；仍在运行的用户进程被杀死，下面每一张票都有交代
problem-failed = { $who }出错，退出码 { $code }：{ $message }
problem-killed = { $who }{ $by }被杀死；{ $left }
killed-by-chaos-at = 在故障注入中{ $at }
killed-by-chaos = 在故障注入中
killed-by-interrupt = 因中断
killed-by-signal = 被信号 { $signal }（不是本程序发出的）
problem-no-report = { $who }退出了（退出码 { $code }），没有留下报告行
problem-no-report-no-code = { $who }退出了（没有退出码），没有留下报告行
problem-lost-connections = 数据库服务器断开了 { $n } 个用户的连接（重启或崩溃）：这些用户都停了下来；已提交的照旧有效，未提交的由服务器回滚，上面的数字是服务器恢复后读回的
problem-kill-missed = 故障注入原计划{ $at }杀死{ $who }，但它没有走到那一步
problem-garbled = 用户发来一行无法读取的内容：{ $line }
kill-point = 在第 { $attempt } 次尝试的 { $step } 步
left-confirmed = 它已确认 { $n } 张
left-unconfirmed = ，另有 { $n } 张已卖出但未确认（记在{ $ledger }里）
left-finished-by = ；它的订单 #{ $seq } 直到{ $by }替它完成才写进数据文件（ticket_num = { $after }）
left-nothing = ：它在买票之前就死了，所以什么都没变
left-nothing-database = ：它在 COMMIT 之前就死了，服务器回滚了它开始的一切，所以什么都没变
left-ledger-unread = 它已确认 { $n } 张；它是否还卖出了更多无从知道（{ $ledger }无法读回）
verdict-ok = 结果正确：{ $tickets } 张票，卖出 { $sold } 张{ $others ->
    [0] {""}
   *[other] （本次运行），别人卖出 { $others } 张
}
count-tickets-of = { $tickets } 张票
verdict-ok-unconfirmed = （其中 { $n } 张由确认前死掉或出错的用户记下）
verdict-ok-buyers = ，{ $n } 人{ result }
verdict-oversold = 超卖：{ $tickets } 张票，确认卖出 { $confirmed } 张{ $others ->
    [0] {""}
   *[other] （本次运行），别人卖出 { $others } 张
}（超卖 { $oversold } 张），丢失更新 { $lost } 次
verdict-lost-updates = 丢失更新：{ $tickets } 张票，确认卖出 { $confirmed } 张，但{ $stock }只记了卖出 { $sold } 张（丢失 { $lost } 次）
verdict-mismatch = 对不上账：{ $tickets } 张票，确认卖出 { $confirmed } 张，{ $ledger }里有 { $logged } 笔，{ $stock }里余票 { $remaining }
verdict-protocol-violation = 违反协议：{ $tickets } 张票，确认卖出 { $confirmed } 张，{ $ledger }里有 { $logged } 笔，但抢票期间另一个程序写了 { $forged } 条打断{ $ledger }链条的记录，所以任何数字都无法评判这一轮（见上面的“!”行）
verdict-changed-outside = 余票被绕过协议改动：{ count-tickets-of }，确认卖出 { $confirmed } 张，{ $ledger }里有 { $logged } 笔，但抢票期间{ $stock }被人绕过锁协议手工改过，所以任何数字都无法评判这一轮（见上面的“!”行）
verdict-stock-unknown = 余票未知：{ $tickets } 张票，确认卖出 { $confirmed } 张，{ $ledger }里有 { $logged } 笔，但抢票结束后无法读回{ $stock }，所以无法判断每张票是否都对得上账
verdict-books-unknown = 余票未知：{ $tickets } 张票，确认卖出 { $confirmed } 张，但抢票结束后{ $stock }和{ $ledger }都无法读回，所以卖出了多少、每张票是否都对得上账，都无从知道

## “原因：”（show/cause.rs）

why-others = 本次运行的用户每次买票都持有互斥锁；余票出错是因为同时有别人从同一份库存里卖票（{ $names }），其中至少有一个没有遵守加锁的约定（比如一次不加锁的抢票）。
why-how-none = 没有互斥锁，一个用户读到余票之后、写回余票之前，别人可以插进来。
why-how-write = 锁只包住了写入，没有包住前面的读取，所以加锁太晚了。
why-how-whole = 整个买票过程都加了互斥锁，所以是锁的约定之外有东西在读和写之间改动了数据文件。
why-unstreamed = 后面的写入覆盖了前面的写入，发生在用户逐条报告的尝试之外。{ $how }
why-protocol-violation = 另一个程序往{ $ledger }里写了遵守锁协议的写入者不会写的记录，所以账目分不清哪些是这一轮的卖出、哪些是伪造的；这一轮自己的确认见上面，要修的是“!”行里点名的那个程序。
why-changed-outside = 有人绕过锁协议改了{ $stock }，账本里没有记下这次改动（手工修改），所以上面的数字把这一轮的卖出和那次改动混在了一起；下一轮之前先补货（去掉 --keep-stock 运行）。
why-stock-unknown = 抢票结束后无法读回{ $stock }，所以这里不能判断是否有丢失更新；上面的数字只是用户的确认和订单，不是余票。
why-books-unknown = 抢票结束后{ $stock }和{ $ledger }都无法读回（原因见下面的错误），所以这里不能说卖出了多少，也不能判断是否有丢失更新；上面唯一的数字是用户的确认。
why-group-first = { $who } 读到 ticket_num = { $n }
why-group = { $who } 读到 { $n }
why-stale = { $groups }，但在读和写之间另一个用户已经写过，所以是按过期的余票卖出的
why-current = ；{ $who } 按当时的余票卖出
why-in-part = （只算用户逐条报告的尝试，每人前 100 次）
why-sentence = { $sentence }。{ $how }

## 实时解说（show/narrate/）
# $n 为 "one" 表示一个用户，"many" 表示几个用户合在一行说。

pid = pid { $pid }
say-searched = { $n ->
    [many] 查票：看到的余票都是 { $seen }
   *[one] 查票：当前余票 { $seen }
}
count-tickets-seen = { $seen } 张票
say-waits-for = 等锁，锁在{ $holder }手里
say-waits = 等锁（持锁者没有写下 pid）
say-takes = 拿到锁
say-recovered = 替{ $of }完成订单 #{ $seq }（它记下订单后就死了）：ticket_num = { $after }
say-read = 读到 ticket_num = { $seen }
say-delay = 网络延迟 { $ms } 毫秒……
say-delays = 网络延迟 { $lo }–{ $hi } 毫秒……
say-wrote = 写入 ticket_num = { $ticket_num }
say-bought = { $n ->
    [many] 各自买票成功
   *[one] 买票成功
}，订单 #{ $seq }{ $again ->
    [yes] （重复的订单号）
   *[no] {""}
}
say-sold-out = 没有余票了：没有抢到票
say-released = 释放锁
say-gives-up-on = 放弃等锁（--lock-timeout），锁仍在{ $holder }手里
say-gives-up = 放弃等锁（--lock-timeout）；持锁者没有写下 pid
say-refused = 被数据库拒绝：读到 { $seen } 之后另一笔购买改了库存；什么都没写，重新再来
say-killed = 在 { $step } 步被故障注入杀死{ killed-holding }
say-killed-attempt = 在第 { $attempt } 次尝试的 { $step } 步被故障注入杀死{ killed-holding }
killed-holding = { $holding ->
    [yes] ，当时持有锁：由内核释放
   *[no] {""}
}
say-failed = 出错：{ $message }
say-relocked = 锁文件被{ lock-file-change }了；锁住了新的锁文件
say-lock-lost = 持有锁期间锁文件被{ lock-file-change }了，锁已经挡不住别人：什么都不写，放开锁，重新买票
lock-file-change = { $change ->
    [deleted] 删除
   *[replaced] 删除或替换
}
say-in-turn = 依次：
say-then = ，
say-then-sale = ；
say-within = （{ $within }内）
step-spawned = （pid { $pid }）已启动
step-ready = 已打开文件，在起跑线上等发令枪
step-started = 听到发令枪
step-paused = 暂停，下一步：{ $next }
step-finished = 结束：{ $outcome ->
    [bought] 想买的票都买到了
    [sold_out] 没有余票了
   *[lock_timeout] 等锁超时放弃了
}，{ $attempts } 次尝试买到 { $bought } 张{ $retries ->
    [0] {""}
   *[other] ，重试 { $retries } 次
}（延迟 { $delays }）
step-searched = （pid { $pid }）查票：当前余票 { $seen }
step-takes-after = 等了 { $waited }后拿到锁
step-recovered = 替{ $of }完成订单 #{ $seq }（它记下订单后就死了）：ticket_num = { $after }
step-order-logged = 订单 #{ $seq } 已记入{ store-ledger }
step-order-again = 订单 #{ $seq } 重复：{ $first }也记下了这个订单号，两人都是按同一个过期的余票做的决定
step-bought = 买票成功，已确认：{ $before } -> { $after }（{ $order }）
step-sold-out = 没有余票了：没有抢到票
delays = { $list } 毫秒
delays-none = 无
files = 运行 { $run }：数据 { $data }，锁 { $lock }，订单日志 { $log }
files-database = 运行 { $run }：数据库 { $place }（表 grab_tickets.stock 和 grab_tickets.orders）
files-trace = ，追踪 { $path }
files-page = ，网页 { $path }
move-describe = { $mv ->
    [s] 查票（只读余票，不买）
    [l] 申请互斥锁
    [r] 读出要据以决定的余票
    [w] 检查并写入（先订单日志，再数据文件）
   *[u] 释放锁
}
move-name = { $mv ->
    [s] 查票
    [l] 加锁
    [r] 读
    [w] 写
   *[u] 解锁
}

## 时间线（show/timeline/）

timeline-heading = 时间线（{ $span }，每列 = { $column }）
timeline-hidden = …… 另有 { $n } 个用户没有画出（--trace FILE 会画出每一个）
timeline-first-write = 第一次写入（{ $who }）
legend = 图例：
legend-entry = { $cell ->
    [undrawn] 在买票，未逐步画出
    [delay] 网络延迟，未持锁
    [waiting] 等锁
    [holding] 持有锁
    [gave_up] 放弃或出错
    [refused] 被数据库拒绝，重试
    [sold_out] 没有抢到票
    [read] 读
    [wrote] 写
    [read_and_wrote] 读并写
   *[killed] 被杀死（SIGKILL）
}
note-read-then = 读到 { $seen }，{ $then }
note-read = 读到 { $seen }
note-wrote = 写入 { $n }
note-bought = 买到 { $n } 张
note-sold-out = 没抢到
note-bought-sold-out = 买到 { $n } 张后售罄
note-bought-timed-out = 买到 { $n } 张后等锁超时
note-gave-up = 等锁超时放弃
note-killed-at = 在 { $step } 被杀死
note-killed = 被杀死
note-failed = 出错

## explore（show/explore/）

move-letter = { $letter } { $name }
explore-race = { $buyers }抢 { $tickets }（{ $lock }）
explore-every = { $race }的每一种调度。
explore-pct = 按 PCT 抽取（用户优先级随机，在 { $steps } 个随机步上把正在走的用户降级；深度 { $depth }
explore-uniform = 均匀抽取（每个能走的用户机会相同
explore-sampled = { $race }中抽样 { $samples } 种调度，{ $how }；种子 { $seed }）。
explore-each = 每一种都是真实用户进程的一次抢票，用的是 { $data } 的新副本；各步：{ $moves }。
explore-row-interleavings = 交错
explore-note-interleavings = 各用户步骤的每一种先后顺序
explore-row-distinct-run = 不同的调度
explore-note-distinct-run = 实际跑过的（只差可交换步骤先后的算一种）
explore-row-sampled = 抽样
explore-row-distinct = 不同的
explore-note-distinct = 不同的抢票过程（独立步骤换顺序只算一次）
explore-row-dead-ends = 走不通
explore-note-dead-ends = 中途停下的运行：剩下的每一步都只是把别处跑过的调度换个顺序
explore-note-oversold = 卖出超过库存（每次也都丢失了更新）
explore-row-lost-only = 只丢失更新
explore-note-lost-only = 没有超卖，但数据文件漏记了一笔销售
explore-row-mismatched = 对不上账
explore-note-mismatched = 数字对不上（见 --json）
explore-row-ok = 结果正确
explore-row-took = 用时
explore-first-bad = 第一个出错的调度（第 { $index } 个，共 { $runs } 个）：{ $schedule }
tickets-line = 票：{ $tickets }
replay-it = 重放：{ $command }
explore-interrupted = 已中断：跑了 { $runs } 种调度，其中 { $bad } 种出错；其余没有跑。
explore-none-bad = 没有一种调度出错：{ $why ->
    [lock] 整个买票过程加了互斥锁，无论步骤怎么排，同一张票都不会卖两次。
    [enough] 票够每个用户买，所以没有人会被覆盖而超卖；试试少一点票。
   *[lucky] 跑过的顺序里没有两个用户按同一个余票做决定。
}
explore-none-bad-counted = { $interleavings } 种交错（{ $schedules } 种不同的调度）都没有出错。
explore-none-bad-joined = { $counted }{ $why }
explore-lesson = { $scope ->
    [none] 不加锁时，一个用户可能按另一个用户马上要改的余票做决定。
    [write] 锁只包住写入，没有包住读取，所以用户仍会写回过期的余票。
   *[whole] 加了锁不应该出现这种情况；请报告这个问题。
}
explore-interleavings-bad = { $total } 种交错中有 { $bad } 种{ $how ->
    [oversell] 超卖
   *[wrong] 出错
}（{ $percent }%）；按可交换的步骤归并，它们是 { $schedules } 种不同的调度，其中 { $bad_schedules } 种出错：{ $lesson }
explore-some-bad = { $runs } 种抽样调度中有 { $bad } 种出错（{ $percent }%）：{ $lesson }

## explore --power-cut (show/power_cut.rs)

power-title = 断电：{ $buyers } 个用户，{ $tickets } 张票，{ $fsync ->
    [yes] 每次确认销售前都 fsync 订单日志
   *[no] 确认销售前不做 fsync（--no-fsync）
}。录下 { $starts } 次真实抢票，每种起始状态各一次：
power-start-line = 从{ $start }开始：{ $steps } 个文件操作，确认了 { $confirmed } 笔销售。
power-start-empty = 空目录（这次运行创建 data.json、它的锁文件和订单日志）
power-start-hand-written = 手写的 data.json，还没有订单日志（课上的起点）
power-start-used-shop = 已经卖过票的商店（--keep-stock；之前已确认一笔销售）
power-start-log-deleted = 那个商店删掉订单日志、账本从头记起（--tickets）
power-counts = {"    "}其中：{ $torn } 种有一次写入在扇区边界处写了一半，{ $zeroed } 种在文件变长处是全零，{ $reordered } 种有操作先于前面一个丢失的操作写到了磁盘上
power-recovered = 总共 { $recovered } 种互不相同的崩溃状态（各起始状态、各模型共用），每种都由下一次运行来恢复（同时跑 { $workers } 个）。
power-timeline = 时间线：
power-story-entry-lost = buyer-{ $buyer } 在第 { $confirmed } 步被告知买到了订单 #{ $seq } 的票，但这笔订单的记录（第 { $append } 步追加）还没刷到磁盘：两步之间没有对订单日志做 fdatasync，断电{ $fate ->
    [torn] 把它写成了一半
    [zeroed] 只留下了它的全零
   *[other] 把它丢了
}。
power-story-name-lost = buyer-{ $buyer } 在第 { $confirmed } 步被告知买到了订单 #{ $seq } 的票，它的记录也刷到了磁盘，但订单日志的文件名（第 { $create } 步创建）从没刷下去：之后没有对目录做 fsync，于是断电把整个日志都丢了。
power-story-earlier = 这次抢票之前的那次运行告诉 buyer-{ $buyer } 它买到了订单 #{ $seq } 的票，断电之后账本里却没有这笔订单。
power-story-other = buyer-{ $buyer } 在第 { $confirmed } 步被告知买到了订单 #{ $seq } 的票；它的记录写到了磁盘上，恢复之后账本里却没有这笔订单。
power-story-refused = 下一次运行拒绝了断电留下的文件：没有人来处理，商店就没法继续卖票。
power-story-broken = 没有丢失已确认的销售，但下一次运行把文件恢复错了：
power-model-weak = 弱模型（未同步的写入可能丢失、写一半、变成全零；最多 { $bound } 个被重排）
power-model-ordered = 有序模型（ext4 的默认方式，data=ordered）
power-model-line = {"  "}{ $model }：在 { $cuts } 个断电点上造出 { $states } 种崩溃状态，其中 { $distinct } 种互不相同，每种都由下一次运行来恢复：{ $vulnerable } 种出问题
power-vulnerable-head = { $model }下出问题，从{ $start }开始：在第 { $steps } 步中的第 { $cut } 步之后断电；还没同步的 { $unsynced } 个操作里，有 { $lost } 个没写到磁盘上（✓ 写到了，✗ 丢失，≈ 写了一半，0 全零；没有标记的：已同步，或没有可丢的）：
power-went-wrong = 下一次运行恢复之后，出了什么问题：
power-more = …… 这个模型下还有 { $more } 种出问题的崩溃状态（--json 会全部列出）。
power-verdict-safe = 每一种崩溃状态都恢复了：没有丢失已确认的销售，没有超卖，账本的链条完整，没有文件被拒绝。
power-verdict-vulnerable = 有 { $vulnerable } 种崩溃状态恢复错了：在那些时刻断电，就违背了承诺。
power-took = 用时 { $seconds } 秒
power-launcher = 启动器
power-buyer-pid = 用户 pid { $pid }
power-op-pid = 把 pid { $pid } 写进 { $name } 的 pid 槽
power-op-pid-blank = 清空 { $name } 的 pid 槽
power-op-create = 创建 { $name }
power-op-write = 写入 { $name }：{ $text }
power-op-append-entry = 追加到 { $name }：{ $kind } #{ $seq }（{ $before } → { $after }）
power-op-append = 向 { $name } 追加 { $bytes } 字节
power-op-truncate = ftruncate { $name } 到 { $len } 字节
power-op-sync-file = fdatasync { $name }
power-op-sync-dir = fsync 目录
power-op-rename = 重命名 { $from } → { $to }
power-op-exchange = 交换 { $a } ⇄ { $b }
power-op-unlink = 删除 { $name }
power-op-confirmed = 确认：买到了订单 #{ $seq } 的票
power-fate-kept = {""}
power-fate-lost = {"  "}（丢失）
power-fate-torn = {"  "}（写了一半：只有前 { $kept } 字节）
power-fate-zeroed = {"  "}（全零：文件大小写到了磁盘上，内容没有）
power-problem-refused = 下一次运行拒绝了这些文件（退出码 { $exit }）：{ $message }
power-problem-sale-lost = buyer-{ $buyer } 被告知买到了订单 #{ $seq } 的票，但账本里没有这笔订单：已确认的销售丢失了
power-problem-oversold = { $tickets } 张票卖出了 { $sold } 张：超卖
power-problem-chain = 账本的链条在 #{ $seq } 断了：它没有接着前一条记录
power-problem-no-restock = 账本里没有进货（restock）记录：无从知道这些订单是从多少库存里卖出的
power-problem-count = data.json 说还剩 { $data } 张票，账本说 { $ledger } 张
power-problem-unaccounted = 卖出的 { $sold } 张加上剩下的 { $remaining } 张，不等于库存的 { $tickets } 张

## explore --interactive（show/explore/board.rs、explore/interactive.rs）

board-intro = 你来当调度器：{ $buyers }抢 { $tickets }（{ $lock }），在 { $data } 的副本上跑真实进程。
    每个用户都停在下一步之前；输入用户编号让他走这一步（h 看帮助，q 退出）。
    各步：{ $moves }。
board-count = ticket_num = { $n }
board-unreadable = 无法读取
board-no-lock = 不加锁
board-lock-free = 锁空闲
board-held = 锁在{ $holder }手里
board-held-waited = 锁在{ $holder }手里，{ $waiter }在等
board-state = {"  "}数据文件：{ $count }；{ $lock }
board-next = 下一步 { $key }：{ $what }
board-blocked = 卡在 flock 里，等{ $holder }解锁
board-done = 已结束
board-prompt = 让哪个用户走？[1-{ $n }]{" "}
board-retype = 请输入 1 到 { $n } 的用户编号，h 看帮助，q 退出。
board-help = 输入用户编号，让他走旁边显示的那一步；q 停止。
    一个用户的各步，依次为：
board-help-sold-out = 读到 0 的用户没有抢到票，就此停下。
stuck-done = { $who }已经结束了。
stuck-waiting = { $who }卡在 flock 里，在等{ $holder }手里的锁；{ $holder }解锁后它才能继续。
stuck-second-waiter = { $who }也想等锁，但{ $waiter }已经在等{ $holder }解锁；一次只让一个用户等（flock 不给等待者排队，两个人等时由内核决定谁先）。
stuck-lock-at-work = 这就是互斥锁在起作用：一个用户在读和写之间时，别人都不能读——并发变成了串行。
lesson-wait = {"  "}{ $who }申请锁，但锁在{ $holder }手里：{ $who }现在卡在 flock 里。{ $then }
lesson-wait-whole = { $holder }写完并解锁之前它读不了，所以它会看到{ $holder }这笔销售：整个买票过程加了互斥锁，无论怎么排都不会超卖。
lesson-wait-write = 但锁只包住了写入：{ $who }在申请锁之前就读了余票，所以一拿到锁就会写回它读到的数，哪怕{ $holder }已经改过。
lesson-oversold = {"  "}!! 超卖：{ $who }刚卖出一张早已没有的票。它是按 ticket_num = { $seen } 做的决定，那是在{ $other }写入 { $theirs } 之前读到的：{ $tickets }一共卖出了 { $sold } 次。
lesson-lost-update = {"  "}!! 丢失更新：{ $who }写入的 { $mine } 覆盖了{ $other }的销售。它是按 ticket_num = { $seen } 做的决定，那是在{ $other }写入 { $theirs } 之前读到的。
moral-locked = 整个买票过程加了互斥锁，无论你怎么排顺序都超卖不了。
moral-lucky = 这次没有超卖。试试先让每个用户都读，再让他们写。
moral-bad = 你让抢票出错了：一个用户写回的余票，早已被另一个用户的写入改过期了。
moral-mismatch = 数字对不上；见上面的报告。
moral-protocol-violation = 有别的程序违反了协议；见上面的报告。
moral-stock-unknown = 无法读回余票；见上面的报告。
interactive-stopped = { $n ->
    [0] 一步还没走就停止了。
   *[other] 走了 { $n } 步后停止：{ $schedule }
}
your-schedule = 你的调度：{ $schedule }

## doctor（doctor/answer.rs）

doctor-heading = grab-tickets doctor：在 { $dir } 里抢票安全吗？
doctor-data = （数据文件 { $data } 所在的目录；数据文件本身不会被读写）
doctor-filesystem = 文件系统：{ $name }，{ $family }。
doctor-filesystem-unknown = 文件系统：未知（{ $error }）。
doctor-family-local = 本机的磁盘
doctor-family-memory = 放在内存里
doctor-family-overlay = 叠加文件系统（overlay，容器自己的文件系统就是这种）
doctor-family-network = 网络文件系统（文件在另一台机器上）
doctor-family-nine_p = 9p（在 WSL 2 里：从 Linux 看到的 Windows 磁盘）
doctor-family-fuse = FUSE（由一个用户程序提供的文件系统）
doctor-family-host_share = 从宿主机或虚拟机共享来的文件夹
doctor-family-unknown = grab-tickets 不认识的文件系统
doctor-probe-line = - { $probe }：{ $verdict }（{ $took }）
doctor-probe-line-untested = - { $probe }：{ $verdict }
doctor-probe-exclusive_lock = 抢票用的锁，跨两个进程
doctor-probe-flock_and_fcntl = flock 锁和 fcntl 锁
doctor-probe-atomic_replace = 替换数据文件
doctor-probe-file_fsync = 对文件 fsync
doctor-probe-directory_fsync = 对目录 fsync
doctor-verdict-safe = 安全
doctor-verdict-not-safe = 不安全
doctor-verdict-cannot-test = 无法测试
doctor-verdict-not-applicable = 不适用
doctor-outcome-lock_excludes = 本进程持有锁（抢票用的那把，加在锁文件上）时，第二个进程拿不到；锁一释放，它马上拿到：在这里用户会排队串行地买票。
doctor-outcome-lock_shared = 本进程持有锁时，第二个进程也拿到了锁：这里的锁谁也挡不住，加锁的抢票也会像不加锁一样超卖。
doctor-outcome-lock_stuck = 第二个进程拿不到锁，可锁释放以后它也一直拿不到：在这里用户会永远等下去。
doctor-outcome-lock_refused = 加锁失败：加锁的抢票会在卖出任何一张票之前报错停下（退出状态 4）。
doctor-outcome-kinds_separate = 每种锁都能挡住另一个进程的同种锁，而两种锁互不相干：用 fcntl 或 lockf 加锁的程序挡不住 grab-tickets 的用户（他们用 flock）。共用这个文件的每个程序都必须用同一种锁。
doctor-outcome-kinds_see_each_other = 每种锁都能挡住另一个进程的同种锁，而且两种锁互相看得见：这里的 flock 是用记录锁实现的，NFS 和 SMB 就是这样。用 fcntl 或 lockf 加锁的程序也会和用户们排队。
doctor-outcome-kinds_one_way = 每种锁都能挡住另一个进程的同种锁，但两种锁只有单向看得见：共用这个文件的程序必须像用户们一样用 flock。
doctor-outcome-kinds_do_not_exclude = 一把锁没能挡住第二个进程的同种锁：这里的锁不能让进程互斥。
doctor-outcome-one_lock_kind = Windows 只有一种锁（LockFileEx，抢票用的就是它），没有 flock 和 fcntl 两种锁可比。
doctor-outcome-replace_atomic = 数据文件按抢票的方式（写临时文件再换进来）替换了 { $swaps } 次，同时一个读进程读了 { $whole } 次，看到它变了 { $changes } 次：从没缺失，从没只读到一半。
doctor-outcome-replace_torn = 数据文件替换 { $swaps } 次期间，一个读进程有 { $missing } 次发现它不存在，{ $partial } 次只读到一部分，{ $failed } 次读不了（完整读到 { $whole } 次）：在这里用户可能读不到余票，或读到坏的。
doctor-outcome-reader_saw_no_swap = 读进程读了数据文件 { $whole } 次，可 { $swaps } 次替换一次也没赶上（机器太忙？），所以这证明不了什么；请再运行一次 doctor。
doctor-outcome-replace_failed = 按抢票的方式替换数据文件，在 { $planned } 次里成功 { $swaps } 次后失败了，当时一个读进程正在循环读它（完整读到 { $whole } 次，被拒绝 { $failed } 次）：在这里，一个用户读文件时，另一个用户可能卖不出票。
doctor-outcome-sync_works = 成功（没有报错）。这只说明这个调用被接受，不说明断电后能留下什么（docs/power-cuts.md）。
doctor-outcome-sync_refused = 失败了：默认做 fsync 的抢票在这里会报错停下；用 --no-fsync 能跑，但断电可能丢失已确认的销售。
doctor-outcome-directory_sync_write_through = Windows 不能对目录 fsync；抢票的改名改用直写（MOVEFILE_WRITE_THROUGH）落盘。
doctor-outcome-no_directory = 目录不存在，什么也测不了；先创建它（mkdir），再运行一次 doctor。
doctor-outcome-not_writable = 在这个目录里建不了文件，什么也测不了；在这里抢票也写不了锁文件。
doctor-outcome-helper_failed = 这项测试需要的第二个进程没有按约定回答，所以什么也不知道。
doctor-error = 原因：{ $error }
doctor-kind-already-held = 已经有别的程序锁住了 { $path }，而那是体检自己的文件
doctor-helper-silent = 第二个进程 { $s } 秒内没有回答
doctor-helper-ended = 第二个进程没回答就结束了
doctor-helper-unexpected = 第二个进程该说 { $due }，却说了 { $said }
doctor-caveats = 测试显示不了的事（{ $name }）：{ $caveat }
doctor-caveat-local = 没有已知的问题：锁、替换和 fsync 都是本机内核自己做的。
doctor-caveat-memory = 抢票和在磁盘上一样，但这里的东西重启后全都没了，fsync 什么也留不下。
doctor-caveat-overlay = 在这里加的锁只有用同一个挂载的程序看得见；如果这是容器，宿主机（或别的容器）里直接打开底层文件的程序看不见它。要和宿主机共用目录，请用卷（volume）或绑定挂载（bind mount），再对那个目录运行 doctor。
doctor-caveat-network = 这些测试只在本机上跑过。锁只有在服务器的锁服务正常、每台机器都用它时才能传到别的机器上的程序，而别的机器还可能从缓存里读到数据文件的旧副本。请在本机磁盘上抢票，或把余票放进 PostgreSQL（--store）。
doctor-caveat-nine_p = 锁只在 Linux 程序之间有效，Windows 程序看不见，而且每个调用都要经过 9p 服务器。请改在 Linux 的文件系统里（你的主目录 ~/）抢票。
doctor-caveat-fuse = 锁管不管用、能不能传给别人，取决于提供这个文件系统的程序（sshfs 一把锁也不转给服务器）；测试只说明本机的情况。
doctor-caveat-host_share = 不管这里的测试怎么说，锁都可能传不到共享另一边（宿主机或虚拟机）的程序。
doctor-caveat-unknown = grab-tickets 不认识这个文件系统；请以上面的测试为准，它们只在本机上跑过。
doctor-interrupted = grab-tickets doctor：被中断；它自己的文件已删掉，对这个目录不下任何结论
doctor-left = 没能删掉体检自己的文件：{ $names }
doctor-overall-safe = 结论：在本机上，在这个目录里抢票是安全的（退出状态 { $code }，{ $took }）。
doctor-overall-not-safe = 结论：在这个目录里抢票不安全（退出状态 { $code }，{ $took }）：失败的是哪一项，见上面。
doctor-overall-cannot-test = 结论：这个目录测不了，所以不能说它安全（退出状态 { $code }，{ $took }）。

## 逐步运行（show/schedule.rs）

schedule-taken = 调度：{ $schedule }
schedule-misfit-then = {"  "}! { $error }；从那里起按用户顺序跑完
schedule-partly = {"  "}（按给定的 { $n } 步走，其余按用户顺序）
schedule-misfit = --schedule 的第 { $step } 步“{ $turn }”不适合这次抢票：{ $why }
ticket-to = 第 { $ticket } 张票卖给了{ $buyers }{ $times ->
    [1] {""}
    [2] （卖了两次）
   *[other] （卖了 { $times } 次）
}
tickets-none-for = { $buyers }没有买到
tickets-none-sold = 一张也没卖出

## 进度行（show/progress.rs）

progress-left = 余票 { $n }
progress-unknown = 余票未知
progress-line = { $left }，{ $waiting } 人在等锁
progress-template = 个用户已结束，

## 错误（main.rs、exit.rs）

error-line = grab-tickets：错误：{ $error }

## 课堂网页（show/html.rs、page.html）；"{name}" 由网页填入

page-tickets-left = 余票
page-the-lock = 互斥锁
page-time = 时间
page-free = 空闲
page-held-by = 在{ $who }手里
page-start = 开头
page-step = 一步
page-play = 播放
page-pause = 暂停
page-speed = 速度
page-paced = 每秒一步
page-aria-race = 抢票过程
page-tip-restart = 回到开头（Home 键）
page-tip-back = 后退一步（左方向键）
page-tip-play = 播放或暂停（空格键）
page-tip-forward = 前进一步（右方向键）
page-report = 报告
page-show-result = 公布结果
page-step-of = 第 { $k } 步，共 { $n } 步
page-ready-to-race = 按“播放”或“一步”：{ $buyers } 个用户进程马上要抢 { $tickets } 张票。
page-ready = 就绪
page-searched = 查票：余票 { $seen }
page-recovered = 替{ $who }完成了订单 #{ $seq }
page-delay = 网络延迟 { $ms } 毫秒
page-bought = 买票成功（订单 #{ $seq }）
page-bought-again = 第 { $k } 次买票成功（订单 #{ $seq }）
page-killed = 在 { $step } 被杀死
page-failed = 出错
page-legend-read = R 读余票
page-legend-wrote = W 写回
page-legend-sold-out = x 读到 0：没有抢到票
page-legend-killed = K 被杀死（SIGKILL）

## 错误：哪一步失败（exit.rs 的 Error::io），以及数据文件的错误

io-read-power-cut-record = 读取断电记录
io-run-the-next-run = 运行下一次抢票
io-start-the-recorded-race = 启动被录下的抢票
io-wait-for-the-recorded-race = 等待被录下的抢票
io-append-to-order-log = 追加订单日志
io-create-directory = 创建目录
io-create-page = 创建网页
io-create-temp-file = 创建临时文件
io-create-trace-file = 创建追踪文件
io-fsync-directory = fsync 目录
io-fsync-order-log = fsync 订单日志
io-inspect-data-file = 检查数据文件
io-inspect-lock-file = 检查锁文件
io-inspect-order-log = 检查订单日志
io-lock = 锁住
io-lock-the-race-gate-on = 锁住抢票闸门
io-open-data-file = 打开数据文件
io-open-directory = 打开目录
io-open-order-log = 打开订单日志
io-read = 读取
io-read-directory = 读取目录
io-read-data-file = 读取数据文件
io-read-order-log = 读取订单日志
io-read-symbolic-link = 读取符号链接
io-remove = 删除
io-replace-data-file = 替换数据文件
io-trim-order-log = 截短订单日志
io-write = 写入
io-write-page = 写入网页
io-write-temp-file = 写入临时文件
io-write-trace-file = 写入追踪文件
error-kill-at-no-buyer = --kill-at { $kill } 指定的是用户{ $buyer }，但这次只有 { $buyers } 个用户（用户1 到用户{ $buyers }）；请指定其中一个，或者调大 --buyers
error-kill-at-no-attempt = --kill-at { $kill } 指定的是第 { $attempt } 次购买，但每个用户最多买 { $attempts } 次（--per-buyer { $attempts }）；请指定 1 到 { $attempts } 之间的次数，或者调大 --per-buyer
error-io = 无法{ $action } { $path }：{ $error }{ $hint }
error-hint-permission = ；请确认你有权写这个目录（或用 --data 换个地方）
error-hint-not-found = ；请确认这个目录存在
error-data-shape = 它应该是一个 JSON 对象，比如 {"{"}"ticket_num": 3{"}"}
error-data-not-object = 数据文件 { $path } 不是 JSON 对象；{ $shape }
error-data-unparsed = 无法解析数据文件 { $path }：{ $error }；{ $shape }
error-data-no-ticket-num = 数据文件 { $path } 里没有 "ticket_num" 字段；{ $shape }
error-data-missing = 数据文件 { $shown } 不存在；去掉 --keep-stock 再运行，会按 --tickets N 创建它，或者用这条命令创建：{ $command }
error-data-deleted-during-race = 数据文件 { $shown } 在抢票过程中被删除，无法读回余票；每一笔售出仍记在订单日志 { $log } 里；用 --tickets N 重新运行，设置新的余票
error-pg-stock-negative = grab_tickets.stock 中余票行的 { $column } 是 { $value }，小于零：它被人手工改过；没有从中卖出任何票；先手工把它改成一个整数（UPDATE grab_tickets.stock SET { $column } = 0），再用 --tickets N 重新运行，设置新的余票
error-pg-stock-not-whole = grab_tickets.stock 中余票行的 { $column } 不是整数（这一列的类型被人手工改过）；没有从中卖出任何票；删除 grab_tickets 这个 schema，再用 --tickets N 重新运行
error-pg-stock-deleted-during-race = { $shown } 中的余票行在抢票过程中被删除，无法读回余票；每一笔售出仍记在 grab_tickets.orders 里；用 --tickets N 重新运行，设置新的余票

## 命令行帮助（cli/mod.rs）：英文帮助就是 cli/args.rs 的文档注释，这里只有中文

help-template = {"{"}about-with-newline{"}"}
    用法：{"{"}usage{"}"}

    命令：
    {"{"}subcommands{"}"}

    选项：
    {"{"}options{"}"}{"{"}after-help{"}"}
help-template-explore = {"{"}about-with-newline{"}"}
    用法：{"{"}usage{"}"}

    选项：
    {"{"}options{"}"}
help-template-completions = {"{"}about-with-newline{"}"}
    用法：{"{"}usage{"}"}

    参数：
    {"{"}positionals{"}"}

    选项：
    {"{"}options{"}"}
help-template-help = {"{"}about-with-newline{"}"}
    用法：{"{"}usage{"}"}

    命令：
    {"{"}subcommands{"}"}
help-about = 真实的进程从同一个 JSON 文件里抢票。
help-long-about = 真实的进程从同一个 JSON 文件里抢票。

    每个用户都是一个独立的操作系统进程。它先查票（读出并显示余票），再买票：重新读一次，模拟一段随机的网络延迟，有票就买一张。不加锁会超卖；用互斥锁（文件锁）包住整个“读—判断—写”，每张票都恰好卖出一次：将并发变成串行，牺牲了效率但是保障了数据的安全。
help-examples = 示例：
      grab-tickets                          10 个用户抢 3 张票，加锁：每张票只卖一次
      grab-tickets --no-lock                同样的抢票，不加锁：看它超卖
      grab-tickets --lock-scope write       只在写入时加锁（常见错误）：仍然超卖
      grab-tickets --buyers 4 --tickets 20 --per-buyer all --delay-ms 0..0
                                            吞吐量测试：一直买到卖完
      grab-tickets --seed 7 --check         重放同样的延迟；有超卖就以 1 退出
      grab-tickets --chaos --seed 2 --tickets 10
                                            在买票中途 SIGKILL 三分之一的用户：一笔也不丢
      grab-tickets --buyers 3 --kill-at 2:order_logged
                                            在用户2记下订单后杀死它：下一个持锁者替它完成
      grab-tickets --html race.html         生成在浏览器里重放抢票的网页（投影用）
      grab-tickets --json | jq .verdict     整份报告输出为 JSON
      grab-tickets --lang zh                用中文讲解（--lang en 用英文）
      grab-tickets explore --no-lock        逐步跑遍 2 个用户抢 1 张票的每一种调度
      grab-tickets --buyers 2 --tickets 1 --no-lock --schedule "1s 2s 1r 2r 1w 2w"
                                            原样重放一种调度：两个用户都卖出了第 1 张票
      grab-tickets completions bash         输出命令补全脚本（bash、zsh、fish……）
      grab-tickets man | man -l -           阅读手册页（man page）

    --seed 能重放：每个用户的网络延迟，以及 --chaos 在哪一步杀死哪些用户。不能重放：锁空出来时内核先让哪个等待者进来，因此也不能重放谁买到哪张票。要原样重放这个顺序，请用 --schedule（explore 会打印调度）。
help-explore-about = 让真实的用户进程逐步走遍它们各步的每一种交错（或随机抽样，或由你来选），数一数有多少种调度会超卖。
help-man-about = 输出手册页（roff 格式，内容是英文），例如 grab-tickets man > ~/.local/share/man/man1/grab-tickets.1，或 grab-tickets man | man -l -
help-completions-about = 输出 shell 命令补全脚本，例如 grab-tickets completions bash > ~/.local/share/bash-completion/completions/grab-tickets
help-race-lang = 所有输出的语言：en（English）或 zh（简体中文）。默认依次看 LC_ALL、LC_MESSAGES、LANG，再看系统设置，否则用英文。--json 不受影响。
help-race-buyers = 启动的用户进程数（1 到 1000）[默认：10，用 --schedule 时为它提到的最大用户号]。
help-race-tickets = 抢票前把余票设为这么多张。
help-race-keep_stock = 直接用数据文件里现有的余票，不按 --tickets 重设。
help-race-data = 共享的数据文件：{"{"}"ticket_num": N{"}"}。
help-race-delay_ms = 模拟网络延迟的范围（毫秒），LO..HI，含两端。
help-race-seed = 延迟和 --chaos 计划的种子：同一个种子能重放每个用户的延迟和被杀的位置，不能重放内核唤醒哪个等待者（要精确的加锁顺序：--schedule）。
help-race-per_buyer = 每个用户想买的票数：一个数字，或 all（一直买到卖完）。
help-race-no_fsync = 确认销售前不做 fsync：更快；断电可能丢失已确认的销售。
help-race-lock_timeout = 等锁超过这么多毫秒就放弃（该用户的结果：等锁超时）。
help-race-check = 有超卖或数字对不上时以状态 1 退出。
help-race-json = 把整份报告输出为一个 JSON 文档，代替文字（隐含 --quiet）。
help-race-trace = 另把抢票过程写进 FILE，格式为 Chrome Trace Event（用 ui.perfetto.dev 或 chrome://tracing 打开）。
help-race-html = 另写一个 FILE：一个自包含的 HTML 网页，在浏览器里重放抢票：每个用户一条泳道、余票计数、持锁者、播放/单步控制和报告。
help-race-quiet = 只打印报告，不实时讲解抢票过程。
help-race-verbose = 另外讲解每个用户的开始和结束（含延迟），并给出运行 id 和用到的每个文件。
help-race-chaos = 故障注入：按 --seed 抽取的步骤，SIGKILL 大约三分之一的用户，然后证明没有一笔销售丢失或重复。
help-race-store = 把库存放在 PostgreSQL 数据库里而不是数据文件里，例如 postgres://app@db.example:5432/shop。表不存在会自动创建；密码可以来自 PGPASSWORD。（逐步运行 --schedule 只用于数据文件。）
help-race-db_lock = 数据库在 --lock-scope whole 和 write 时用的锁：row（对库存行 SELECT ... FOR UPDATE，延迟期间一直持有）或 advisory（pg_advisory_xact_lock，最接近 flock）。需要 --store。
help-race-atomic = 数据库自己的办法：根本不先读后写，一条条件 UPDATE ... SET ticket_num = ticket_num - 1 WHERE ticket_num > 0 RETURNING。需要 --store。
help-race-serializable = 在一个 SERIALIZABLE 事务里读、延迟、写，不加锁：两笔冲突的购买中数据库会中止一笔，用户再试（报告会统计重试）。需要 --store。
help-race-kill_at = 对一个用户做故障注入：在第 A 次尝试（默认 1）的 STEP 步 SIGKILL 用户 N；可重复。步骤：before_lock、lock_held、in_delay、temp_written、order_logged、data_written、released（数据库存储的步骤少一些）。
help-race-schedule = 原样重放一种交错：每个用户在每一步前暂停，按调度指定的时候才走，例如 "1s 2s 1r 2r 1w 2w"（s 查票、l 加锁、r 读、w 写、u 解锁；explore 会打印这样的调度）。
help-race-no_lock = 完全不加锁（同 --lock-scope none）：课上那个会超卖的抢票。在数据库上（--store）：读出余票、延迟，然后 UPDATE ... SET ticket_num = <读到的数 - 1>。
help-race-lock_scope = 锁包住买票过程的多少：whole（正确）、write（常见错误）、none。在数据库上，锁是事务持有的行锁或咨询锁（--db-lock）。
help-race-help = 打印帮助
help-help-about = 打印这份帮助，或某个子命令的帮助
help-default = {" "}[默认：{ $value }]
help-possible = {" "}[可选值：{ $values }]
help-race-version = 打印版本
help-explore-buyers = 用户进程数（跑遍每种调度时 1 到 4，用 --random 时最多 1000）。
help-explore-tickets = 每种调度开始时的余票。
help-explore-data = 每种调度都重新复制一份的数据文件（它本身从不被写）。
help-explore-random = 抽样 N 种调度（按 --sampler，从 --seed 抽），而不是跑遍每一种。
help-explore-seed = --random 的种子：同一个种子抽到同样的调度。
help-explore-sampler = --random 怎样抽一种调度：uniform（每个能走的用户机会相同；默认，最常找到这种抢票错误）或 pct（优先级在随机的点上改变）。
help-explore-depth = PCT 抽样的深度：每次抽样在 DEPTH - 1 个随机步上把正在走的用户降级 [默认：3]。
help-explore-interactive = 你自己当调度器：输入用户编号，让他走下一步。
help-explore-json = 把总结输出为一个 JSON 文档。
help-explore-no_fsync = 确认销售前不做 fsync（更快；抢票过程不变）。
help-explore-power_cut = 探索断电而不是调度：录下一次真实抢票的文件操作，造出断电可能留在磁盘上的每一种状态，用下一次运行恢复每一种，检查有没有丢失已确认的销售（有问题时退出码为 1）。从一个新的数据文件开始。
help-explore-model = 配合 --power-cut：断电会怎样对待还没同步的写入：weak（丢失、写一半、全零、重排）或 ordered（ext4 的默认方式，data=ordered）[默认：两个都跑]。
help-explore-no_lock = 完全不加锁（同 --lock-scope none）：课上那个会超卖的抢票。
help-explore-lock_scope = 锁包住买票过程的多少：whole（正确）、write（常见错误）、none。
help-explore-lang = 所有输出的语言：en（English）或 zh（简体中文）。
help-explore-help = 打印帮助
help-completions-shell = 要生成补全脚本的 shell
help-completions-lang = 所有输出的语言：en（English）或 zh（简体中文）。
help-completions-help = 打印帮助
help-man-page = 改为输出某个子命令自己的手册页：grab-tickets-explore(1)、grab-tickets-doctor(1) 或 grab-tickets-completions(1)
help-man-help = 打印帮助
help-doctor-about = 检查数据文件所在的目录：说出它的文件系统，再用真实的进程测试锁能互斥、替换是原子的、fsync 管用。退出状态 0 安全，1 不安全，4 无法测试。
help-doctor-data = 要检查其所在目录的数据文件（它本身从不被读写）。
help-doctor-json = 把体检结果输出为一个 JSON 文档。
help-doctor-lang = 所有输出的语言：en（English）或 zh（简体中文）。
help-doctor-help = 打印帮助

## 会覆盖本店文件的输出（app.rs、shop/own_files.rs）

shop-file = { $what ->
    [lock] 锁文件
    [log] 订单日志
   *[data] 数据文件
}
error-output-is-shop-file = --{ $flag } { $path } { $how ->
    [link] 经符号链接指向
    [hardlink] 是硬链接，指向
   *[named] 就是
}{ shop-file } { $shop }；输出文件绝不能覆盖本店自己的文件，所以什么都没改；换一个文件，比如 --{ $flag } { $example }
error-outputs-same-file = --trace 和 --html 指向同一个文件 { $path }；请给它们各自一个文件
error-data-path-is-directory-syntax = 数据路径 { $path } 以 "/"、"." 或 ".." 结尾，指的是目录而不是文件；什么都没创建；请让 --data 指向一个 JSON 文件，比如 --data { $example }

## 写入之前就守住的上限（shop/books.rs、data_file.rs、orders.rs）

error-data-would-grow-too-large = 数据文件 { $path } 的数字变长后会达到 { $len } 字节，超过每个读者接受的 { $max } 字节；什么都没改；请删掉其他字段里至少 { $spare } 字节
error-seq-no-room = { $data } 的账本已到 seq { $seq }，离 seq 的上限（{ $max }）太近，这次运行写不完；什么都没改；把 { $data } 和 { $log } 移走，开一本新账
error-seq-at-maximum = 订单日志 { $log } 已经到了 seq 的上限（{ $max }）；什么都没写；把数据文件和它的日志移走，开一本新账
error-log-seq-too-large = 订单日志 { $path } 第 { $line } 行的 seq 是 { $seq }，超过上限（{ $max }）；这是 grab-tickets 以外的程序写的；什么都没改

## 锁的等待与错误（shop/lock.rs、app.rs）

launcher-waiting-for-lock = grab-tickets：正在等待 { $lock } 上的锁，它由 { $holder } 持有
launcher-relocked = grab-tickets：锁文件 { $lock } 被{ $change }；已锁上新的锁文件
holder-another-process = 另一个进程
holder-pid = pid { $pid }
error-lock-timed-out = 等待 { $path } 上的锁超过了 --lock-timeout { $ms } 毫秒，锁由 { $holder } 持有；有另一个程序正在使用这个数据文件
error-lock-wait-interrupted = 等待 { $path } 上的锁时被中断
error-lock-keeps-vanishing = 无法锁上 { $path }：锁文件刚锁上就被删除或替换，连续 { $times } 次；有东西一直在删它；先让它停下，再重新运行

## 程序各处的错误（shop/、race/、cli/、settings/、explore/、powercut/）

shown-relative = { $path }（相对于 { $cwd }）
file-kind = { $kind ->
    [directory] 一个目录
    [fifo] 一个命名管道（FIFO）
    [socket] 一个套接字
    [device] 一个设备
    [link] 一个符号链接
   *[unknown] 一个类型不明的文件
}
sidecar = { $what ->
    [lock] 锁文件
   *[log] 订单日志
}
io-open-lock-file = 打开锁文件
error-data-path-link-loop = 数据路径 { $path } 经过了超过 { $max } 个符号链接；请让 --data 直接指向文件本身
error-data-path-foreign-link = 数据路径 { $path } 是共享目录里另一个用户（uid { $owner }）的符号链接；在那里 grab-tickets 只跟随你自己的链接；请让 --data 指向真正的文件
error-data-path-is-directory = 数据路径 { $path } 是一个目录；请让 --data 指向一个 JSON 文件，比如 --data { $example }
error-data-path-not-regular = 数据路径 { $path } 是{ $kind }，不是普通文件；请让 --data 指向一个 JSON 文件，比如 {"{"}"ticket_num": 3{"}"}
error-data-path-no-file = 数据路径 { $path } 没有指出文件名；请让 --data 指向一个 JSON 文件
error-data-dir-missing = 数据文件 { $path } 所在的目录不存在；用这条命令创建：mkdir -p { $dir }
error-data-dir-missing-to-create = 无法创建数据文件 { $path }：目录 { $dir } 不存在；先创建它（mkdir -p { $mkdir }），或者让 --data 指向一个已有目录里的文件
error-data-became-link = 数据文件 { $path } 在本次运行确认之后变成了符号链接；有东西正在改动这个目录
error-sidecar-keeps-vanishing = 无法打开{ $what } { $path }：它一再消失；grab-tickets 运行时有东西在删除它
error-sidecar-is-link = { $what } { $path } 是一个符号链接；grab-tickets 从不跟随指向自己文件的链接（在共享目录里，链接可能指向任何人的文件）；删掉这个链接，grab-tickets 会新建一个{ $what }
error-sidecar-hard-links = { $what } { $path } 有 { $links } 个硬链接：另一个名字共享它的内容，写它也会改掉那个文件；如果别处不需要它，删掉 { $path }，grab-tickets 会新建一个{ $what }
error-sidecar-not-regular = { $what } { $path } 是{ $kind }，不是普通文件；把它移走，grab-tickets 会新建一个{ $what }
error-data-too-large-to-read = 数据文件 { $path } 比一个余票计数器需要的大（最多 { $max } 字节）；--data 指对文件了吗？
error-temp-names-taken = 无法在 { $path } 旁边创建临时文件：连续 { $attempts } 个随机名字都已被占用；有东西在往这个目录里塞满文件名
error-data-duplicate-key = 数据文件 { $path } 里的键 "{ $key }" 出现了不止一次；哪一个算数说不清（各个程序看法不同），grab-tickets 不去猜；请只保留一个
error-count-field = 数据文件 { $path } 里的 "{ $name }" { $problem }；请把它设成 0 到 { $max } 之间的整数
count-not-whole = 是 { $text }，但它必须是整数
count-negative = 是 { $text }，但它不能是负数
count-signed-zero = 是 { $text }，但整数不能带正负号
count-too-large = 是 { $text }，超过了上限 { $max }
error-ledger-no-seq = 数据文件 { $path } 里没有 "seq"，但它的订单日志 { $log } 里有记录：有人没按锁的规矩替换了这个文件；去掉 --keep-stock 运行 grab-tickets，重新设置余票
error-ledger-disagrees = 数据文件 { $path } 说在 #{ $seq } 时有 { $tickets } 张票，但它的订单日志 { $log } 说那时是 { $after } 张：有人没按锁的规矩改了数据文件；去掉 --keep-stock 运行，重新设置余票（账本从重新设置处接着记）
error-ledger-does-not-continue = 订单日志 { $log } 接不上数据文件 { $path }（数据在 #{ $seq }，有 { $tickets } 张票；日志在 #{ $last }）；有人没按锁的规矩改了其中一个；去掉 --keep-stock 运行，重新设置余票（账本从重新设置处接着记）
error-log-unparsed = 无法解析订单日志 { $path } 第 { $line } 行：{ $error }；每一行都必须是一个 JSON 对象，含整数 "seq"、"before"、"after" 和字符串 "kind"（见 docs/protocol.md）；这是 grab-tickets 以外的程序写错的
error-race-gate-timed-out = 等待 { $launchers } 在 { $path } 上的抢票结束，超过了 --lock-timeout { $ms } 毫秒；请稍后再试，或者用 --keep-stock 加入它
error-race-gate-interrupted = 等待 { $path } 上的另一场抢票结束时被中断
launcher-waiting-for-race = grab-tickets：正在等待 { $launchers } 在 { $path } 上的抢票结束，然后才设置余票（用 --keep-stock 可以直接加入它）
launchers-another = 另一个主进程
launchers-one = 主进程 pid { $pid }
launchers-many = 主进程 { $list }
launchers-and = 和
error-atomic-needs-store = --atomic 和 --serializable 需要数据库存储（--store postgres://...）

# PostgreSQL：什么失败了，在哪里（$target 是去掉密码的 URL）
error-pg-store-url = --store '{ $url }' 无效：{ $what }；应该是 postgres://USER@HOST:PORT/DB，比如 postgres://app@localhost:5432/shop（套接字目录要百分号编码写在主机处：postgres://app@%2Fvar%2Frun%2Fpostgresql/shop）
pg-url-not-postgres = 它不是以 postgres:// 开头
pg-url-no-host = 它没有指出主机
pg-url-no-database = 它没有指出数据库（末尾的 /DB）
error-pg-login = 无法登录 { $target }：{ $error }；请检查用户名和密码（在 URL 里、PGPASSWORD 里或密码文件里）
error-pg-no-database = 无法连接 { $target }：{ $error }；请先创建它（createdb NAME），或者在 URL 末尾换一个数据库
error-pg-connect = 无法连接 { $target }：{ $error }
error-pg-password-missing = 无法登录 { $target }：服务器要求密码；把它写进 URL（postgres://USER:PASSWORD@...）、PGPASSWORD 或密码文件（~/.pgpass、PGPASSFILE 或 URL 里的 passfile=）
error-pg-password-missing-passfile-shared = 无法登录 { $target }：服务器要求密码，而密码文件 { $path } 别人也能读写（权限 { $mode }），所以和 libpq 一样跳过了它；运行 { $command } 后它才会被使用，或者把密码写进 URL 或 PGPASSWORD
error-pg-password-missing-passfile-unreadable = 无法登录 { $target }：服务器要求密码，而密码文件 { $path } 读不了（{ $error }），所以跳过了它；让你自己能读它，或者把密码写进 URL 或 PGPASSWORD
error-pg-no-tls = 无法连接 { $target }：{ $error }；服务器不提供 TLS：去掉 URL 里的 sslmode，或者在服务器上启用 ssl
error-pg-not-running = 无法连接 { $target }：{ $error }；服务器在运行并在那里监听吗？（docs/postgres.md 说明了怎样启动一个）
error-pg-lost-connection = 在{ $action }时与 { $target } 的连接断了：{ $error }；服务器会回滚所有没有提交的操作，所以不会留下做了一半的买票
error-pg-failed = 无法在 { $target } 中{ $action }：{ $error }
error-pg-no-stock = { $target } 里还没有余票（grab_tickets.stock 是空的）；去掉 --keep-stock 运行一次来设置它（--tickets N）
error-pg-stock-gone = { $target } 中的余票行不见了：抢票开始时它还在，所以是抢票过程中被人删掉了（grab_tickets.stock 是空的）；这个用户不买票就停下了；到目前为止的每一笔售出都记在 grab_tickets.orders 里；用 --tickets N 重新运行，设置新的余票
error-pg-lock-timed-out = 等待 { $target } 里的余票超过了 --lock-timeout { $ms } 毫秒，它被 { $holder } 锁着；另一次运行正在使用这个数据库
pg-stock-in = { $target } 里的余票
pg-take-the-lock = 加锁
pg-set-the-stock = 设置余票
pg-read-back-the-stock-and-the-orders = 读回余票和订单
pg-create-the-grab_tickets-tables = 创建 grab_tickets 的表
pg-prepare-the-purchase = 准备买票语句
pg-read-the-stock = 读余票
pg-record-the-order = 记录订单
pg-commit-the-purchase = 提交这次买票
pg-roll-back-a-refused-purchase = 回滚一次被拒绝的买票
pg-end-a-read-only-transaction = 结束一个只读事务
pg-sell-a-ticket = 卖出一张票
pg-record-the-race = 在 grab_tickets.races 中登记这场抢票
pg-read-the-grab_tickets-tables = 读取 grab_tickets 的表
pg-read-the-connection-limits = 读取服务器的连接数上限
pg-count-the-connections = 清点用户的连接

# 进程（race/）
error-no-own-binary = 找不到本程序的可执行文件：{ $error }
error-no-pipe = 无法创建管道：{ $error }
error-buyer-spawn = 无法启动用户{ $n }（{ $exe }）：{ $error }
error-launcher-job = 无法建立让用户进程随启动器一起结束的进程组（Windows 上是作业对象 job object）：{ $error }
error-no-chooser = 逐步运行的用户需要一个调度者；这是 grab-tickets 的 bug
error-buyer-reports = 无法读取用户进程的报告：{ $error }
error-buyer-bad-plan = 一个用户进程从主进程收到了错误的计划：{ $error }；用户进程由 grab-tickets 自己启动，不能手工运行
error-buyer-no-pipe = { $who } 没有通往主进程的管道：{ $error }
error-step-pipe = 无法打开标准输入上的单步管道：{ $error }
error-kill-at-unreached-step = --kill-at { $kill } 指的步骤这次运行根本走不到；按这些设置，一次买票经过的步骤是 { $steps }
error-stepped-stuck = 逐步运行卡住了：没有用户能走（锁的持有者：{ $holder }，等锁的：{ $waiter }）；这是 grab-tickets 的 bug
error-step-send = 无法让 { $who } 走它的一步（{ $mv }）：{ $error }
launcher-step-stuck = grab-tickets：已经 { $s } 秒了，还在等 { $who } 走到下一步；是不是有别的程序拿着数据文件的锁？
error-step-protocol = { $who } 没被放行就在 { $mv } 之前暂停了：单步协议被破坏了
error-step-gone = { $who } 没报告下一步就退出了
misfit-finished = { $who } 已经结束了
misfit-no-buyer = 没有 { $who }（--buyers { $buyers }）
misfit-other-move = { $who } 停在它的下一步 { $turn }（{ $what }）之前，不是 { $wanted }
error-report-to-stdout = 无法把报告写到标准输出：{ $error }
error-a-buyer-failed = 有一个用户进程失败了；见上面的报告
stopped-at-once = grab-tickets：收到第二个信号，立即停止，不出报告；用户进程都已被杀死，下一次运行会把文件整理好

# explore 和 explore --power-cut
error-schedule-failed = 调度 "{ $schedule }" 失败：{ $why }
schedule-buyer-failed = { $who }：{ $message }
schedule-buyer-ended = { $who } 以 { $how } 结束
schedule-protocol-broken = 有一个用户进程破坏了报告协议
error-summary-to-stdout = 无法把总结写到标准输出：{ $error }
explore-progress = {"  "}已跑 { $n } 种调度 ...
error-no-own-program = 找不到本程序：{ $error }
error-recorded-race-failed = 被录下的抢票失败了：{ $stderr }
error-record-unparsed = 无法解析断电记录 { $path } 第 { $line } 行：{ $error }
error-record-inconsistent = 断电记录 { $path } 前后对不上：{ $why }
record-used-before-created = { $name } 在创建之前就被使用了
record-not-hex = { $text } 不是十六进制

# 命令行的取值（cli/bounds.rs、cli/resolve.rs、settings/）
error-out-of-range = { $flag } { $value } 超出范围；请用 { $lo } 到 { $hi }{ $hint }
range-open = 请用不小于 { $lo } 的整数
range-closed = 请用 { $lo } 到 { $hi } 之间的整数
value-negative = 不能是负数；{ $range }
value-not-whole = 不是整数；{ $range }
value-too-large = { $n } 太大了；{ $range }
hint-explore-sample = ；更多用户的全部调度多得跑不完：用 --random N 抽样
error-depth-with-uniform = --depth 是 PCT 抽样的参数；用 --sampler uniform 时请去掉它
error-schedule-too-few-buyers = --schedule 提到了用户{ $named }，但 --buyers 是 { $buyers }；请用 --buyers { $named }，或者去掉 --buyers
error-schedule-moves = --schedule "{ $schedule }"：{ $error }
delay-malformed = 延迟范围 '{ $text }' 无效：应该是以毫秒计的 LO..HI，比如 100..300
delay-reversed = 延迟范围 '{ $text }' 无效：LO（{ $lo }）大于 HI（{ $hi }）；请写成 { $hi }..{ $lo }
delay-too-long = 延迟范围 '{ $text }' 无效：最多允许 { $max } 毫秒
per-buyer-invalid = 取值 '{ $text }' 无效：应该是票数（1 或更多的整数）或 'all'
step-unknown = 未知的步骤 '{ $text }'；请用其中之一：{ $names }
kill-at-malformed = --kill-at '{ $text }' 无效：应该是 BUYER:STEP[:ATTEMPT]，比如 2:order_logged
schedule-cannot-move = { $who } 不能走 { $moves }：{ $lock ->
    [none] 不加锁时
    [write] 只在写入时加锁时
   *[whole] 整个买票过程加互斥锁时
}，一个用户的步骤是 { $buys }（读到 0 时是 { $sold_out }）{ $more ->
    [one] {""}
   *[many] ，之后每多买一张票，再走一遍（不再查票）
}
schedule-step-invalid = 调度步骤 '{ $word }' 无效：{ $why }；每一步写成用户编号加一个步骤字母（s 查票、l 加锁、r 读、w 写、u 解锁），比如 "1s 2s 1r 2r 1w 2w"
schedule-step-buyer-range = 用户编号是 1 到 { $max }
schedule-step-no-number = 它不是以用户编号开头
schedule-step-not-a-move = '{ $letter }' 不是一个步骤
schedule-step-no-letter = 缺少步骤字母
schedule-step-two-letters = 每一步只能有一个步骤字母
schedule-empty = 调度是空的；请给出这样的步骤："1s 2s 1r 2r 1w 2w"

# clap 的拒绝（cli/refusal.rs）：clap 只会说英文，这里按错误的种类和内容重新说一遍
clap-refusal = { $what }；{ $hint }
clap-unknown-argument = 没有这个参数：'{ $arg }'
clap-unknown-subcommand = 没有这个子命令：'{ $name }'
clap-value-missing = '{ $arg }' 需要一个值，但没有给出
clap-invalid-value = '{ $arg }' 的值 '{ $value }' 无效
clap-because = ：{ $why }
clap-possible-values = { $line }［可用的值：{ $values }］
clap-missing-arguments = 缺少必需的参数：{ $args }
clap-conflict = 参数 '{ $arg }' 不能和 '{ $other }' 一起用
clap-repeated = 参数 '{ $arg }' 只能用一次
clap-extra-value = '{ $arg }' 多了一个值 '{ $value }'；它不需要更多的值
clap-tip-argument = 有一个相近的参数：'{ $similar }'
clap-tip-subcommand = 有一个相近的子命令：'{ $similar }'
clap-tip-value = 有一个相近的值：'{ $similar }'
clap-tip-help = 请看 'grab-tickets --help'

# 锁与平台（shop/lock.rs、sys/）
error-lock-unsupported = 无法锁上 { $path }：{ $error }；这个文件系统不支持文件锁，这里没法阻止超卖；请把数据文件放在本地文件系统上（--data /tmp/tickets/data.json）
error-replaced-while-open = { $path } 在打开期间被替换了
error-not-a-directory = { $path } 不是目录

# JSON 解析器发现的问题（shop/document.rs）
json-problem = { $kind ->
    [eof] JSON 在第 { $line } 行第 { $column } 列提前结束了
    [data] 第 { $line } 行第 { $column } 列的值类型不对
   *[syntax] 第 { $line } 行第 { $column } 列不是合法的 JSON
}

## The database's edges (issue 20: race/secret.rs, shop/pg/)

error-buyer-stdin = 用户进程无法打开标准输入上来自启动器的管道：{ $error }
error-buyer-secret-line = 用户进程从启动器的标准输入收到的第一行有误（{ $reason }）；用户进程由 grab-tickets 自己启动，不能手工启动
error-pg-race-beside-unlocked = { $shown } 的余票上正在进行一场不加锁的抢票（运行 { $run }，启动器 pid { $pid }，{ $theirs }）：它写回的是没加锁时读到的余票，可能超卖，本次运行加什么锁都拦不住它；没有做任何改动；等它结束后再用 { $mine } 运行（或者同样不加锁，用 { $theirs } 和它一起抢）
launcher-unlocked-beside-locked = grab-tickets：{ $shown } 的余票上正在进行一场加锁的抢票（运行 { $run }，启动器 pid { $pid }，{ $theirs }）；本次不加锁的运行（{ $mine }）可能让它超卖
error-pg-stock-changed-by-hand = { $shown } 的余票行写着第 #{ $seq } 次改动后余票 { $count } 张，但 grab_tickets.orders 记的是第 #{ $logged_seq } 次改动后 { $logged } 张：余票行被人绕过锁的约定改过；去掉 --keep-stock 重新运行，设置新的余票（账本从这次补货接着记）
error-pg-stock-changed-mid-race = grab_tickets.orders 中 id 为 { $id } 的订单是从第 #{ $seq } 次改动后的余票 { $before } 张卖出的，但{ $known ->
    [none] 没有哪笔订单把余票改到第 #{ $seq } 次
   *[other] 前一笔订单在那里留下的是 { $known } 张
}：抢票过程中 { $shown } 的余票行被人绕过锁的约定改过；去掉 --keep-stock 重新运行，设置新的余票（账本从这次补货接着记）
error-pg-too-few-connections = { $shown } 现在只能再接受 { $free } 个连接：{ $which ->
    [database] 数据库的 CONNECTION LIMIT 是
    [role] 角色的 CONNECTION LIMIT 是
   *[server] 服务器允许这个用户连接（max_connections 减去给超级用户保留的连接）
} { $limit } 个，已用 { $used } 个，但 { $buyers } 个用户每人都要一个连接；没有做任何改动；用 --buyers { $free } 或更少运行，或者调大{ $which ->
    [database] 数据库的 CONNECTION LIMIT
    [role] 角色的 CONNECTION LIMIT
   *[server] 服务器的 max_connections
}
error-pg-buyers-not-logged-in = { $buyers } 个用户中只有 { $logged_in } 个登录了 { $shown }（有用户被拒绝、出错，或者太慢；用户自己说的原因见上面）；没有做任何改动；{ $logged_in ->
    [0] 查一查为什么启动器能登录而用户一个都登录不了
   *[other] 用 --buyers { $logged_in } 或更少运行，或者在服务器上腾出连接
}
error-pg-login-wait-interrupted = 等待用户登录 { $shown } 时被中断；没有做任何改动
error-pg-seq-no-room = { $shown } 的账本已到 seq { $seq }，离 seq 的上限（{ $max }）太近，这次运行写不完；什么都没改；删除 grab_tickets 这个 schema（DROP SCHEMA grab_tickets CASCADE，订单会一起删掉），开一本新账
error-pg-seq-at-maximum = { $shown } 的余票已经到了 seq 的上限（{ $max }）；什么都没写；删除 grab_tickets 这个 schema，开一本新账
error-pg-column-changed = { $shown } 里的 { $table }.{ $column } 是 { $found }，但 grab-tickets 建的是 { $expected }：这张表被人手工改过；什么都没改；把它改回去，或者删除 grab_tickets 这个 schema（DROP SCHEMA grab_tickets CASCADE），再用 --tickets N 重新运行
pg-column-missing = 缺失
error-buyer-before-race = grab-tickets：用户{ $n } 在抢票开始前就停下了：{ $error }
