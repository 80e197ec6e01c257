/* Live monitor: polls /api/monitor/feed about 11 times a second for the beds on the page
 * (tiles carrying data-monitor-bed), adds only the new samples to each bed's sweep trace
 * (a canvas over the ECG-paper figure), and shows HR, rhythm, signal state and alarms.
 * Reconnects by itself
 * (backing off up to 5 s) after a network blip or a server restart; a server restart empties
 * the in-process buffers, which the feed answers with reset: the trace then starts afresh.
 * window.ecgMonitorStats counts updates per trace (read by the benchmark). */
(function () {
  "use strict";
  var POLL_MS = 90, MAX_BACKOFF_MS = 5000, VISIBLE_S = 8;
  var stats = (window.ecgMonitorStats = { updates: {}, polls: 0, errors: 0, started: Date.now() });
  var backoff = POLL_MS;
  var muted = window.localStorage && localStorage.getItem("ecgMonitorMuted") === "1";
  var STATE_TEXT = {
    ok: "", waiting: "waiting for signal", signal_lost: "SIGNAL LOST", lead_off: "LEAD OFF",
    noisy: "noisy signal",
  };

  function graphOf(bed) {
    var holder = document.getElementById("monitor-trace-" + bed);
    var graph = holder && holder.querySelector(".js-plotly-plot");
    return graph && graph._fullLayout && graph._fullLayout._size ? graph : null;
  }

  /* The trace is drawn sweep-style, as on a bedside monitor, on a canvas laid over the
   * Plotly figure's plot area: Plotly draws the ECG paper grid once, and each update only
   * redraws one polyline (a Plotly relayout per update is too slow for 8 beds at 10 Hz in
   * a browser without a GPU). */
  function traceOf(graph, fs) {
    var trace = graph.ecgTrace;
    if (!trace || trace.fs !== fs || !trace.canvas.isConnected) {
      var canvas = document.createElement("canvas");
      canvas.className = "monitor-canvas";
      canvas.style.position = "absolute";
      canvas.style.pointerEvents = "none";
      graph.style.position = "relative";
      graph.appendChild(canvas);
      var n = Math.round(fs * VISIBLE_S);
      trace = graph.ecgTrace = { fs: fs, n: n, y: new Float32Array(n).fill(NaN), head: 0, canvas: canvas };
    }
    return trace;
  }

  function write(trace, start, samples) {
    for (var i = 0; i < samples.length; i++) trace.y[(start + i) % trace.n] = samples[i];
    trace.head = (start + samples.length) % trace.n;
  }

  function draw(graph, trace) {
    var size = graph._fullLayout._size;
    var range = graph._fullLayout.yaxis.range;
    var ratio = window.devicePixelRatio || 1;
    var canvas = trace.canvas;
    canvas.style.left = size.l + "px";
    canvas.style.top = size.t + "px";
    canvas.style.width = size.w + "px";
    canvas.style.height = size.h + "px";
    var width = Math.round(size.w * ratio), height = Math.round(size.h * ratio);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    var ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, width, height);
    var meta = graph._fullLayout.meta || {};
    ctx.strokeStyle = meta.trace_colour || "#39ff88";
    ctx.lineWidth = 1.6 * ratio;
    ctx.lineJoin = "round";
    var gap = Math.round(trace.fs * 0.25); // blank ahead of the sweep head
    var scaleY = height / (range[1] - range[0]);
    var scaleX = width / trace.n;
    ctx.beginPath();
    var pen = false;
    for (var i = 0; i < trace.n; i++) {
      var ahead = (i - trace.head + trace.n) % trace.n;
      var v = trace.y[i];
      if (ahead < gap || v !== v) {
        pen = false;
        continue;
      }
      var px = i * scaleX, py = (range[1] - v) * scaleY;
      if (pen) ctx.lineTo(px, py);
      else ctx.moveTo(px, py);
      pen = true;
    }
    ctx.stroke();
  }

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== text) el.textContent = text;
    return el;
  }

  function render(bed) {
    var graph = graphOf(bed.bed_id);
    if (!graph) return;
    if (bed.fs) {
      var trace = traceOf(graph, bed.fs);
      if (bed.reset || graph.ecgCursor === undefined) trace.y.fill(NaN);
      if (bed.samples.length) {
        write(trace, bed.start, bed.samples);
        draw(graph, trace);
        stats.updates[bed.bed_id] = (stats.updates[bed.bed_id] || 0) + 1;
      }
    }
    graph.ecgCursor = bed.end;
    var v = bed.vitals || {};
    setText("monitor-hr-" + bed.bed_id, v.hr_bpm === null || v.hr_bpm === undefined ? "--" : String(v.hr_bpm));
    // The reason a rhythm is not classified can be long: the tile says so, the tooltip why.
    var note = v.rhythm_note || "rhythm not classified";
    var rhythm = setText(
      "monitor-rhythm-" + bed.bed_id,
      v.rhythm ? v.rhythm + " (" + Math.round(100 * v.rhythm_probability) + " %)" : note.split(":")[0]
    );
    if (rhythm) rhythm.title = v.rhythm ? "CNN over the last 10 s" : note;
    var state = STATE_TEXT[v.state] !== undefined ? STATE_TEXT[v.state] : v.state;
    if (v.state === "ok" && v.quality && v.quality !== "good") state = "signal: " + v.quality;
    setText("monitor-state-" + bed.bed_id, state);
    var banner = document.getElementById("monitor-alarm-" + bed.bed_id);
    var alarms = v.alarms || [];
    if (banner) {
      var text = alarms.map(function (a) { return a.message; }).join(" · ");
      banner.hidden = alarms.length === 0;
      if (banner.textContent !== text) banner.textContent = text;
      var tile = banner.parentElement;
      tile.classList.toggle("monitor-tile-alarm", alarms.some(function (a) { return a.kind !== "signal_lost"; }));
      tile.classList.toggle("monitor-tile-technical", alarms.some(function (a) { return a.kind === "signal_lost"; }));
    }
    return alarms.length > 0;
  }

  function setConnection(ok) {
    var el = setText("monitor-connection", ok ? "" : "reconnecting…");
    if (el) el.classList.toggle("text-warning", !ok);
  }

  function sound(on) {
    var audio = document.getElementById("monitor-alarm-sound");
    if (!audio) return;
    if (on && !muted) {
      if (audio.paused) audio.play().catch(function () {});
    } else if (!audio.paused) {
      audio.pause();
    }
  }

  function beds() {
    var tiles = document.querySelectorAll("[data-monitor-bed]");
    var out = [];
    for (var i = 0; i < tiles.length; i++) out.push(tiles[i].getAttribute("data-monitor-bed"));
    return out;
  }

  function schedule(started) {
    var wait = backoff === POLL_MS ? Math.max(10, POLL_MS - (Date.now() - started)) : backoff;
    setTimeout(poll, wait);
  }

  function poll() {
    var list = beds();
    var started = Date.now();
    if (!list.length) {
      setTimeout(poll, 250);
      return;
    }
    var cursor = list.map(function (bed) {
      var graph = graphOf(bed);
      return bed + ":" + (graph && graph.ecgCursor !== undefined ? graph.ecgCursor : -1);
    });
    stats.polls++;
    fetch("/api/monitor/feed?cursor=" + encodeURIComponent(cursor.join(",")), {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (response.status === 401) {
          window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
          throw new Error("logged out");
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        setConnection(true);
        backoff = POLL_MS;
        var alarm = false;
        data.beds.forEach(function (bed) { alarm = render(bed) || alarm; });
        sound(alarm);
        schedule(started);
      })
      .catch(function (error) {
        stats.errors++;
        stats.lastError = String(error);
        setConnection(false);
        backoff = Math.min(Math.max(backoff * 2, 250), MAX_BACKOFF_MS);
        schedule(started);
      });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("#monitor-mute");
    if (!button) return;
    muted = !muted;
    if (window.localStorage) localStorage.setItem("ecgMonitorMuted", muted ? "1" : "0");
    button.lastChild.textContent = muted ? "Sound off" : "Sound on";
    sound(false);
  });

  setTimeout(poll, 250);
})();
