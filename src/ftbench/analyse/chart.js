// ftbench trend chart: draws the series embedded in the page (<script id="ftbench-data">)
// as SVG. No dependencies, no network. Inlined into every page by ftbench.analyse.charts.
// Names (tier, step, commit, verdict, ...) come from pull requests: they only ever reach the
// page as textContent or attribute values, never as markup (no innerHTML).
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const DATA = JSON.parse(document.getElementById("ftbench-data").textContent);
  const W = 980, H = 440, M = { l: 72, r: 24, t: 36, b: 64 };
  const chart = document.getElementById("chart");
  const tip = document.getElementById("tip");
  const picks = {};

  function el(name, attrs, parent, text) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }

  function fmt(v, unit, big) {
    if (unit === "KB") return big ? (v / 1024).toFixed(1) + " MB" : v.toFixed(0) + " KB";
    if (big) return v >= 100 ? v.toFixed(0) + " s" : v.toFixed(2) + " s";
    const ms = v * 1000;
    return ms >= 100 ? ms.toFixed(0) + " ms" : ms >= 10 ? ms.toFixed(1) + " ms" : ms.toFixed(2) + " ms";
  }

  function niceTicks(lo, hi, count) {
    const span = hi - lo || Math.abs(hi) || 1;
    const step0 = span / count;
    const mag = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) || step0;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
    return out;
  }

  function draw(series) {
    chart.textContent = "";
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img" }, chart);
    el("title", {}, svg, series.label);
    const pts = series.points;
    if (!pts.length) {
      el("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, svg, "no reports");
      return svg;
    }
    const big = series.unit === "KB" ? Math.max(...pts.map((p) => p[1])) >= 10240
      : Math.max(...pts.map((p) => p[1])) >= 1;
    const lows = pts.map((p) => (p[2] === null ? p[1] : p[2]));
    const highs = pts.map((p) => (p[3] === null ? p[1] : p[3]));
    let lo = Math.min(...lows), hi = Math.max(...highs);
    const pad = (hi - lo) * 0.08 || hi * 0.05 || 1;
    lo = Math.max(0, lo - pad); hi = hi + pad;
    const t0 = pts[0][0], t1 = pts[pts.length - 1][0];
    const x = (t) => M.l + (t1 === t0 ? 0.5 : (t - t0) / (t1 - t0)) * (W - M.l - M.r);
    const y = (v) => M.t + (1 - (v - lo) / (hi - lo)) * (H - M.t - M.b);
    // axes and grid
    for (const v of niceTicks(lo, hi, 6)) {
      el("line", { x1: M.l, x2: W - M.r, y1: y(v), y2: y(v), class: "grid" }, svg);
      el("text", { x: M.l - 6, y: y(v) + 4, "text-anchor": "end", class: "tick" }, svg, fmt(v, series.unit, big));
    }
    const nx = Math.min(8, pts.length);
    for (let k = 0; k < nx; k++) {
      const i = nx === 1 ? 0 : Math.round((k * (pts.length - 1)) / (nx - 1));
      const p = pts[i];
      const anchor = nx > 1 && k === 0 ? "start" : nx > 1 && k === nx - 1 ? "end" : "middle";
      const g = el("text", { x: x(p[0]), y: H - M.b + 18, "text-anchor": anchor, class: "tick" }, svg);
      el("tspan", { x: x(p[0]), dy: 0 }, g, new Date(p[0]).toISOString().slice(0, 10));
      el("tspan", { x: x(p[0]), dy: 14, class: "commit" }, g, (p[4] || "").slice(0, 7));
    }
    el("line", { x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b, class: "axis" }, svg);
    // spread band (min..max), then the medians
    const band = pts.map((p, i) => `${x(p[0])},${y(highs[i])}`).concat(
      pts.map((p, i) => `${x(p[0])},${y(lows[i])}`).reverse());
    el("polygon", { points: band.join(" "), class: "band" }, svg);
    el("polyline", { points: pts.map((p) => `${x(p[0])},${y(p[1])}`).join(" "), class: "line" }, svg);
    if (pts.length <= 1500) {
      for (const p of pts) el("circle", { cx: x(p[0]), cy: y(p[1]), r: 2.6, class: "pt" }, svg);
    }
    // segment levels and change points
    const starts = [0].concat(series.changes.map((c) => c[0]), [pts.length]);
    for (let s = 0; s + 1 < starts.length; s++) {
      const a = starts[s], b = starts[s + 1] - 1;
      const level = s === 0 ? (series.changes.length ? series.changes[0][2] : series.level)
        : series.changes[s - 1][3];
      if (level !== null && level !== undefined) {
        el("line", { x1: x(pts[a][0]), x2: x(pts[b][0]), y1: y(level), y2: y(level), class: "level" }, svg);
      }
    }
    for (const c of series.changes) {
      const i = c[0];
      const cx = (x(pts[i - 1][0]) + x(pts[i][0])) / 2;
      const cls = c[1] >= 0 ? "slower" : "faster";
      el("line", { x1: cx, x2: cx, y1: M.t, y2: H - M.b, class: "cp " + cls }, svg);
      const label = (c[1] >= 0 ? "+" : "") + c[1].toFixed(Math.abs(c[1]) >= 10 ? 0 : 1) + "% " +
        (pts[i][4] || "").slice(0, 7);
      el("text", { x: cx + 3, y: M.t - 6, class: "cplabel " + cls }, svg, label);
    }
    // regression verdicts
    for (const p of pts) {
      if (p[5] === "regression") {
        const px = x(p[0]), py = y(p[1]);
        el("path", { d: `M${px},${py - 9} l5,8 l-10,0 z`, class: "regression" }, svg);
      }
    }
    // tooltip: the nearest report to the pointer
    svg.addEventListener("mousemove", (ev) => {
      const box = svg.getBoundingClientRect();
      const mx = ((ev.clientX - box.left) / box.width) * W;
      let best = 0;
      for (let i = 1; i < pts.length; i++) if (Math.abs(x(pts[i][0]) - mx) < Math.abs(x(pts[best][0]) - mx)) best = i;
      const p = pts[best];
      tip.textContent = `${new Date(p[0]).toISOString().slice(0, 19)}Z  ${(p[4] || "-").slice(0, 12)}  ` +
        `${fmt(p[1], series.unit, big)}  n=${p[6]}${p[5] ? "  " + p[5] : ""}`;
    });
    return svg;
  }

  function current() {
    return DATA.series.find((s) => s.phase === picks.phase.value && s.step === picks.step.value &&
      s.metric === picks.metric.value);
  }

  function refresh() {
    const s = current();
    if (s) {
      draw(s);
      const reports = s.reports === undefined ? s.points.length : s.reports;
      const sampled = reports > s.points.length ? " (" + s.points.length + " drawn: each " +
        "bucket's fastest and slowest report, change points exact)" : "";
      document.getElementById("caption").textContent = s.label + ": " + reports +
        " reports" + sampled + ", " + s.changes.length + " change point(s)";
    } else {
      chart.textContent = "no such series";
    }
    chart.dataset.drawn = s ? String(s.points.length) : "0";
  }

  for (const name of ["phase", "step", "metric"]) {
    picks[name] = document.getElementById("pick-" + name);
    const values = [...new Set(DATA.series.map((s) => s[name]))];
    for (const v of values) {
      const o = document.createElement("option");
      o.value = v; o.textContent = v;
      picks[name].appendChild(o);
    }
    picks[name].addEventListener("change", refresh);
  }
  refresh();
})();
