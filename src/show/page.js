// The classroom page's player, inlined into page.html by html.rs after the run's JSON (id "run").
"use strict";
(function () {
  var page = JSON.parse(document.getElementById("run").textContent);
  var run = page.run;
  var all = run.events;
  // The page's own words, from the run's message catalog: "{name}" is filled in here.
  var ui = page.ui;
  function say(key, vars) {
    return ui[key].replace(/\{(\w+)\}/g, function (_, v) { return vars && v in vars ? vars[v] : ""; });
  }
  document.documentElement.lang = page.lang;
  var HIDDEN = { spawned: 1, started: 1, finished: 1 };
  // The steps: every event a person watches, in time order (the JSON keeps that order).
  var steps = [];
  all.forEach(function (e, i) { if (!HIDDEN[e.kind]) steps.push(i); });
  var buyers = run.buyers.slice().sort(function (a, b) { return a.buyer - b.buyer; });
  var raced = all.filter(function (e) { return e.kind !== "spawned"; });
  // Time zero is the starting gun, as in the terminal's narration, timeline and report.
  var gun = run.gun_us || 0;
  var t0 = raced.length ? Math.min(gun, raced[0].t_us) : gun;
  var t1 = raced.length ? raced[raced.length - 1].t_us : 1;
  var span = Math.max(1, t1 - t0);

  function $(id) { return document.getElementById(id); }
  // The terminal's clock: seconds since the starting gun, the same numbers as its lines.
  function seconds(us) { return (Math.max(0, us - gun) / 1e6).toFixed(3) + " s"; }
  function pct(us) { return Math.max(0, Math.min(100, (us - t0) * 100 / span)); }

  // Per buyer: the spans and marks drawn on its lane, and its status after each of its steps.
  var lanes = {};
  buyers.forEach(function (b) {
    lanes[b.buyer] = { segs: [], marks: [], statuses: [], bought: 0, open: {} };
  });
  function laneOf(n) {
    if (!lanes[n]) lanes[n] = { segs: [], marks: [], statuses: [], bought: 0, open: {} };
    return lanes[n];
  }
  var counterAfter = [run.tally.initial];
  var holderAfter = [null];
  (function walk() {
    var counter = run.tally.initial, holder = null, lastOf = {};
    steps.forEach(function (index, k) {
      var e = all[index], lane = laneOf(e.buyer), t = e.t_us;
      var close = function (what) {
        if (lane.open[what] !== undefined) {
          lane.segs.push({ kind: what, from: lane.open[what], to: t });
          delete lane.open[what];
        }
      };
      close("delay");
      var status = null;
      switch (e.kind) {
        case "searched": status = [say("searched", { seen: e.seen }), ""]; break;
        case "lock_wait": lane.open.wait = t; status = [say("waiting"), "waiting"]; break;
        case "lock_acquired": close("wait"); lane.open.hold = t; holder = e.buyer; status = [say("holding"), "holding"]; break;
        case "lock_timed_out": close("wait"); status = [say("gave_up"), "soldout"]; break;
        case "recovered": counter = e.after; status = [say("recovered", { seq: e.seq, n: e.of_buyer }), "holding"]; break;
        case "read": lane.marks.push({ g: "R", t: t }); status = [say("read", { seen: e.seen }), holder === e.buyer ? "holding" : ""]; break;
        case "delay":
          if (lane.open.hold === undefined) lane.open.delay = t;
          status = [say("delay", { ms: e.ms }), holder === e.buyer ? "holding" : ""]; break;
        case "wrote": counter = e.ticket_num; lane.marks.push({ g: "W", t: t }); status = [say("wrote", { n: e.ticket_num }), holder === e.buyer ? "holding" : ""]; break;
        case "ordered": lane.bought += 1; status = [say(lane.bought > 1 ? "bought_again" : "bought", { k: lane.bought, seq: e.seq }), "bought"]; break;
        case "sold_out": lane.marks.push({ g: "x", t: t }); status = [say("sold_out"), "soldout"]; break;
        case "lock_released": close("hold"); if (holder === e.buyer) holder = null; status = [lastOf[e.buyer] || "", lastClass(e.buyer)]; break;
        case "killed":
          close("hold"); close("wait"); if (holder === e.buyer) holder = null;
          lane.marks.push({ g: "K", t: t }); status = [say("killed", { step: e.step }), "killed"]; break;
        case "failed": status = [say("failed"), "killed"]; break;
      }
      if (status) {
        lane.statuses.push({ step: k + 1, text: status[0], cls: status[1] });
        lastOf[e.buyer] = status[0];
      }
      counterAfter.push(counter);
      holderAfter.push(holder);
    });
    // Spans still open when the events stop end with the race.
    Object.keys(lanes).forEach(function (n) {
      var lane = lanes[n];
      Object.keys(lane.open).forEach(function (what) { lane.segs.push({ kind: what, from: lane.open[what], to: t1 }); });
    });
    function lastClass(buyer) {
      var s = laneOf(buyer).statuses;
      var c = s.length ? s[s.length - 1].cls : "";
      return c === "holding" ? "" : c;
    }
  })();

  // The end of the story, in the report's words (the JSON's `result` of each buyer).
  var RESULT_WORDS = page.results;
  var RESULT_CLASS = { bought: "bought", sold_out: "soldout", sold_out_after_buying: "soldout", lock_timeout: "soldout", killed: "killed", failed: "killed" };

  // Static parts: the page's labels, titles, report, legend, the lanes' skeleton.
  Array.prototype.forEach.call(document.querySelectorAll("[data-say]"), function (el) {
    el.textContent = say(el.dataset.say);
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-title-say]"), function (el) {
    el.title = say(el.dataset.titleSay);
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-aria-say]"), function (el) {
    el.setAttribute("aria-label", say(el.dataset.ariaSay));
  });
  $("title").textContent = page.title;
  $("subtitle").textContent = page.subtitle;
  document.title = page.title;
  var report = page.report;
  $("verdict").textContent = report.verdict;
  $("verdict").className = "verdict " + (run.verdict.status === "ok" ? "ok" : "bad");
  if (report.why) {
    $("why").hidden = false;
    $("why").innerHTML = "<b></b>";
    $("why").firstChild.textContent = report.why_label;
    $("why").appendChild(document.createTextNode(report.why));
  }
  $("report-heading").textContent = report.heading;
  report.rows.forEach(function (r) {
    var tr = document.createElement("tr");
    var bad = (r.label === ui.row_oversold || r.label === ui.row_lost_updates) && r.count > 0;
    tr.className = bad ? "bad" : "";
    [r.label, String(r.count), r.note].forEach(function (cell, i) {
      var td = document.createElement("td");
      td.textContent = cell;
      if (i === 1) td.className = "n";
      tr.appendChild(td);
    });
    $("report").tBodies[0].appendChild(tr);
  });
  report.problems.forEach(function (p) {
    var li = document.createElement("li");
    li.textContent = p;
    $("problems").appendChild(li);
  });
  var LEGEND = [
    ["wait", "var(--wait)", say("legend_wait")], ["hold", "var(--hold)", say("legend_hold")],
    ["delay", "repeating-linear-gradient(90deg, var(--delay) 0 .35rem, transparent .35rem .55rem)", say("legend_delay")],
    ["R", "var(--read)", say("legend_read")], ["W", "var(--write)", say("legend_wrote")],
    ["x", "var(--soldout)", say("legend_sold_out")], ["K", "var(--killed)", say("legend_killed")]
  ];
  var used = {};
  Object.keys(lanes).forEach(function (n) {
    lanes[n].segs.forEach(function (s) { used[s.kind] = 1; });
    lanes[n].marks.forEach(function (m) { used[m.g] = 1; });
  });
  LEGEND.forEach(function (l) {
    if (!used[l[0]]) return;
    var item = document.createElement("span");
    var sw = document.createElement("i");
    sw.className = "sw"; sw.style.background = l[1];
    item.appendChild(sw); item.appendChild(document.createTextNode(l[2]));
    $("legend").appendChild(item);
  });
  [0, 0.5, 1].forEach(function (f) {
    var tick = document.createElement("span");
    tick.style.left = f * 100 + "%";
    tick.textContent = seconds(t0 + f * span);
    $("ticks").appendChild(tick);
  });
  var rows = {};
  Object.keys(lanes).map(Number).sort(function (a, b) { return a - b; }).forEach(function (n) {
    var row = document.createElement("div");
    row.className = "lane"; row.dataset.buyer = String(n);
    row.innerHTML = '<span class="name"></span><div class="bar"></div><span class="status"></span>';
    row.firstChild.textContent = say("buyer", { n: n });
    $("lanes").appendChild(row);
    rows[n] = row;
  });

  var scrub = $("scrub");
  scrub.max = String(steps.length);
  // The class guesses first: the verdict and the counts stay hidden until the last step
  // or until someone presses "show the result"; going back does not hide them again.
  var state = { step: 0, now: t0, playing: false, last: 0, revealed: false };
  $("reveal").onclick = function () { state.revealed = true; render(); };

  function statusAt(lane, step) {
    var found = null;
    for (var i = 0; i < lane.statuses.length && lane.statuses[i].step <= step; i++) found = lane.statuses[i];
    return found;
  }

  function render() {
    var k = state.step, now = state.now;
    document.body.dataset.step = String(k);
    document.body.dataset.steps = String(steps.length);
    var counter = counterAfter[k], holder = holderAfter[k];
    $("counter").textContent = String(counter);
    document.body.dataset.counter = String(counter);
    $("counter-box").className = "box counter" + (k > 0 && counterAfter[k - 1] !== counter ? " changed" : "");
    $("lock").textContent = holder === null ? say("free") : say("held_by", { n: holder });
    $("lock-box").className = "box lock" + (holder === null ? "" : " held");
    document.body.dataset.holder = holder === null ? "" : String(holder);
    $("clock").textContent = seconds(now);
    $("stepno").textContent = say("step_of", { k: k, n: steps.length });
    scrub.value = String(k);
    $("now").textContent = k === 0
      ? say("ready_to_race", { buyers: buyers.length, tickets: run.tally.initial })
      : seconds(all[steps[k - 1]].t_us) + "  " + page.words[steps[k - 1]];
    var finished = k === steps.length;
    if (finished) state.revealed = true;
    $("result").hidden = !state.revealed;
    $("reveal").hidden = state.revealed;
    document.body.dataset.revealed = state.revealed ? "1" : "0";
    Object.keys(rows).forEach(function (n) {
      var lane = lanes[n], row = rows[n], html = "";
      lane.segs.forEach(function (s) {
        if (s.from > now) return;
        var to = Math.min(s.to, now);
        html += '<div class="seg ' + s.kind + '" style="left:' + pct(s.from) + '%;width:' + (pct(to) - pct(s.from)) + '%"></div>';
      });
      lane.marks.forEach(function (m) {
        if (m.t <= now) html += '<span class="mark ' + m.g + '" style="left:' + pct(m.t) + '%">' + m.g + "</span>";
      });
      html += '<div class="cursor" style="left:' + pct(now) + '%"></div>';
      row.children[1].innerHTML = '<div class="track">' + html + "</div>";
      var summary = buyers.filter(function (b) { return String(b.buyer) === n; })[0];
      var st = statusAt(lane, k);
      var text = st ? st.text : say("ready"), cls = st ? st.cls : "";
      if (finished && summary) {
        text = RESULT_WORDS[summary.result] + (summary.confirmed > 1 ? " (" + summary.confirmed + ")" : "");
        cls = RESULT_CLASS[summary.result];
      }
      row.children[2].textContent = text;
      row.children[2].className = "status " + cls;
      row.className = "lane" + (String(holder) === n ? " holder" : "") + (cls === "killed" ? " killed" : "");
    });
    var log = $("log"), lines = [];
    for (var i = Math.max(0, k - 8); i < k; i++) lines.push(seconds(all[steps[i]].t_us) + "  " + page.words[steps[i]]);
    log.innerHTML = "";
    lines.reverse().forEach(function (line) { var li = document.createElement("li"); li.textContent = line; log.appendChild(li); });
    $("play").textContent = state.playing ? "\u25AE\u25AE " + say("pause") : "\u25B6 " + say("play");
    var doc = document.documentElement;
    document.body.dataset.overflow = doc.scrollWidth > window.innerWidth + 1 ? "1" : "0";
    // How many lanes a projector shows without scrolling (a class cannot scroll together).
    var inView = 0;
    Array.prototype.forEach.call(document.querySelectorAll(".lane[data-buyer]"), function (el) {
      var r = el.getBoundingClientRect();
      if (r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0 && r.right <= window.innerWidth) inView++;
    });
    document.body.dataset.lanesInView = String(inView);
  }

  function go(step) {
    state.step = Math.max(0, Math.min(steps.length, step));
    state.now = state.step === 0 ? t0 : all[steps[state.step - 1]].t_us;
    render();
  }
  function pause() { state.playing = false; render(); }
  // Timers, not animation frames: a headless browser (and a hidden tab) may produce no frames
  // at all, while timers follow its clock, virtual or real, so playing always moves on.
  function tick() {
    if (!state.playing) return;
    var ts = performance.now();
    var dt = state.last ? ts - state.last : 0;
    state.last = ts;
    if ($("speed").value === "step") {
      // Paced for a class: one event a second, whatever the race's real speed.
      state.paced += dt;
      while (state.paced >= 1000 && state.step < steps.length) { state.paced -= 1000; state.step += 1; }
      state.now = state.step === 0 ? t0 : all[steps[state.step - 1]].t_us;
    } else {
      state.now += dt * 1000 * Number($("speed").value);
      while (state.step < steps.length && all[steps[state.step]].t_us <= state.now) state.step += 1;
    }
    if (state.step >= steps.length) { state.now = t1; state.playing = false; }
    render();
    if (state.playing) setTimeout(tick, 16);
  }
  function play() {
    if (state.step >= steps.length) go(0);
    state.playing = true; state.last = 0; state.paced = 0;
    render();
    setTimeout(tick, 16);
  }
  $("play").onclick = function () { state.playing ? pause() : play(); };
  $("forward").onclick = function () { state.playing = false; go(state.step + 1); };
  $("back").onclick = function () { state.playing = false; go(state.step - 1); };
  $("restart").onclick = function () { state.playing = false; go(0); };
  scrub.oninput = function () { state.playing = false; go(Number(scrub.value)); };
  document.addEventListener("keydown", function (e) {
    if (e.target.tagName === "SELECT" || e.target.tagName === "INPUT") return;
    if (e.key === " ") { e.preventDefault(); $("play").onclick(); }
    else if (e.key === "ArrowRight") $("forward").onclick();
    else if (e.key === "ArrowLeft") $("back").onclick();
    else if (e.key === "Home") $("restart").onclick();
  });
  // #step=N (or end) opens the race at that step; #play starts playing; #speed=2 sets the
  // speed, e.g. #play&speed=2.
  function fromFragment() {
    var m = /step=(\d+|end)/.exec(location.hash);
    var speed = /speed=(step|[\d.]+)/.exec(location.hash);
    if (speed) $("speed").value = speed[1];
    state.playing = false;
    go(m ? (m[1] === "end" ? steps.length : Number(m[1])) : 0);
    if (/(^#|&)play(&|$)/.test(location.hash)) play();
  }
  window.addEventListener("hashchange", fromFragment);
  window.addEventListener("resize", render);
  fromFragment();
})();
