// The ECG viewer's browser side (components/ecg_viewer.py):
// * zoom and pan: each change of the time axis is handed to the viewer's callback through the
//   "ecg-range-request" store at once (dcc.Graph's own relayoutData reaches the server only
//   after it has re-rendered its figure with the event written back into it);
// * calipers: with the Calipers button on, click two points of the trace to read the time
//   between them (ms) and the rate it corresponds to (bpm). Clientside only. Lines are drawn on
//   the figure's own layout (shapes named "caliper").
(function () {
  const state = {};  // viewer name -> {on, first}

  function readout(viewer, text) {
    const el = document.getElementById("ecg-caliper-readout-" + viewer);
    if (el) el.textContent = text;
  }

  function graphDiv(viewer) {
    const holder = document.querySelector('.ecg-paper[data-viewer="' + viewer + '"]');
    return holder ? holder.querySelector(".js-plotly-plot") : null;
  }

  function drawLines(gd, xs) {
    const keep = (gd.layout.shapes || []).filter((s) => s.name !== "caliper");
    const lines = xs.map((x) => ({
      type: "line", name: "caliper", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1,
      line: { color: "#0d6efd", width: 1.5, dash: "dot" },
    }));
    window.Plotly.relayout(gd, { shapes: keep.concat(lines) });
  }

  function rangeOf(event) {
    if (event["xaxis.autorange"]) return { autorange: true };
    if ("xaxis.range[0]" in event && "xaxis.range[1]" in event) {
      return { x0: Number(event["xaxis.range[0]"]), x1: Number(event["xaxis.range[1]"]) };
    }
    if (Array.isArray(event["xaxis.range"])) {
      return { x0: Number(event["xaxis.range"][0]), x1: Number(event["xaxis.range"][1]) };
    }
    return null;
  }

  function attach(viewer) {
    const gd = graphDiv(viewer);
    if (!gd || gd.ecgViewer || !gd.on) return;
    gd.ecgViewer = true;
    gd.on("plotly_relayout", function (event) {
      const wanted = rangeOf(event || {});
      if (!wanted || !window.dash_clientside || !window.dash_clientside.set_props) return;
      wanted.at = Date.now();  // a new value even when the same range is asked twice
      window.dash_clientside.set_props({ type: "ecg-range-request", viewer: viewer }, { data: wanted });
    });
    gd.on("plotly_click", function (event) {
      const s = state[viewer];
      if (!s || !s.on || !event.points || !event.points.length) return;
      const x = Number(event.points[0].x);
      if (s.first === null) {
        s.first = x;
        drawLines(gd, [x]);
        readout(viewer, "First point at " + x.toFixed(3) + " s — click the second point.");
      } else {
        const dt = Math.abs(x - s.first) * 1000;
        drawLines(gd, [s.first, x]);
        const bpm = dt > 0 ? (60000 / dt).toFixed(0) : "—";
        readout(viewer, "Δt = " + dt.toFixed(0) + " ms  →  " + bpm + " bpm");
        s.first = null;
      }
    });
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest(".ecg-caliper-toggle");
    if (!button) return;
    const viewer = button.getAttribute("data-viewer");
    const s = (state[viewer] = state[viewer] || { on: false, first: null });
    s.on = !s.on;
    s.first = null;
    button.classList.toggle("active", s.on);
    attach(viewer);
    readout(viewer, s.on ? "Calipers on: click the first point on the trace." : "Calipers off.");
  });

  // Graphs are created and replaced by Dash: attach to each one as it appears.
  new MutationObserver(function () {
    document.querySelectorAll(".ecg-paper[data-viewer]").forEach(function (holder) {
      attach(holder.getAttribute("data-viewer"));
    });
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
