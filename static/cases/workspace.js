/* finobs workspace: live hints over WebSocket, SLA countdowns, and charts (Chart.js, vendored). */
(function () {
  "use strict";
  var script = document.currentScript;
  var liveUrl = script && script.dataset.liveUrl;

  var lastStatus = ["connecting…", false];
  function setLiveStatus(text, ok) {
    lastStatus = [text, ok];
    document.querySelectorAll("[data-live-status]").forEach(function (el) {
      el.textContent = text;
      el.classList.toggle("ok", !!ok);
    });
  }

  // The push is only a hint (the channel layer is at-most-once): on each hint, and after every
  // reconnect, the page re-fetches its fragment from the server, which applies the permissions.
  function connect(attempt) {
    if (!liveUrl || !window.WebSocket) return;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + liveUrl);
    socket.onopen = function () {
      setLiveStatus("live", true);
      document.body.dataset.live = "open";
      if (attempt > 0) document.body.dispatchEvent(new CustomEvent("case-changed"));
    };
    socket.onmessage = function (message) {
      var hint = {};
      try { hint = JSON.parse(message.data); } catch (e) { return; }
      if (hint.type === "presence") {  // who else has this case open (cases/presence.js)
        document.body.dispatchEvent(new CustomEvent("case-presence", { detail: hint }));
        return;
      }
      document.body.dataset.lastHint = hint.reference || "";
      document.body.dispatchEvent(new CustomEvent("case-changed", { detail: hint }));
    };
    socket.onclose = function (event) {
      document.body.dataset.live = "closed";
      // 4401: signed out (no session, and a page sends no token); 4403, 4404: not allowed here.
      if (event.code === 4401 || event.code === 4403 || event.code === 4404) { setLiveStatus("no live updates", false); return; }
      setLiveStatus("reconnecting…", false);
      var delay = Math.min(30000, 1000 * Math.pow(2, attempt));
      setTimeout(function () { connect(attempt + 1); }, delay);
    };
  }

  function formatLeft(ms) {
    var sign = ms < 0 ? "overdue " : "";
    var s = Math.abs(ms) / 1000;
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    return sign + (d ? d + "d " : "") + h + "h " + (d ? "" : m + "m");
  }

  function tickSla() {
    var now = Date.now();
    document.querySelectorAll(".sla[data-due]").forEach(function (el) {
      var left = new Date(el.dataset.due).getTime() - now;
      el.textContent = formatLeft(left);
      el.title = "due " + el.dataset.due;
      el.classList.toggle("breached", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 4 * 3600 * 1000);
    });
  }

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  var POS = "#c0392b", NEG = "#2e86c1";

  function shapCharts(root) {
    if (!window.Chart) return;
    root.querySelectorAll("canvas[data-shap-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) return;
      var rows = readJson(canvas.dataset.source) || [];
      rows = rows.slice().sort(function (a, b) { return Math.abs(b.contribution) - Math.abs(a.contribution); });
      canvas.parentElement.style.height = (40 + rows.length * 26) + "px";
      new Chart(canvas, {
        type: "bar",
        data: {
          labels: rows.map(function (r) { return (r.label || r.feature) + (r.value !== undefined && r.value !== null ? " = " + r.value : ""); }),
          datasets: [{
            label: "contribution (> 0 pushes towards anomalous)",
            data: rows.map(function (r) { return r.contribution; }),
            backgroundColor: rows.map(function (r) { return r.contribution > 0 ? POS : NEG; })
          }]
        },
        options: {
          indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
          plugins: { legend: { display: false }, tooltip: { callbacks: { afterLabel: function (ctx) { return rows[ctx.dataIndex].text || ""; } } } },
          scales: { x: { title: { display: true, text: "← normal · anomalous →" } } }
        }
      });
      canvas.dataset.drawn = "1";
    });
  }

  function activityChart() {
    var chart = readJson("activity-data"), canvas = document.getElementById("activity-chart");
    if (!chart || !canvas || !window.Chart) return;
    var data = chart.points;
    new Chart(canvas, {
      type: "scatter",
      data: { datasets: [{
        label: "amount",
        data: data.map(function (p) { return { x: new Date(p.t).getTime(), y: p.amount }; }),
        pointBackgroundColor: data.map(function (p) { return p.flagged ? POS : "#7f8c8d"; }),
        pointRadius: data.map(function (p) { return p.in_case ? 6 : 3; })
      }] },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } },
        scales: { x: { type: "linear", min: new Date(chart.from).getTime(), max: new Date(chart.to).getTime(), ticks: { callback: function (v) { return new Date(v).toISOString().slice(5, 16).replace("T", " "); } } },
                  y: { title: { display: true, text: "amount" } } }
      }
    });
  }

  function dashboardCharts() {
    if (!window.Chart) return;
    var volume = readJson("volume-data"), canvas = document.getElementById("volume-chart");
    if (volume && canvas) {
      new Chart(canvas, {
        type: "bar",
        data: { labels: volume.map(function (r) { return r.day; }), datasets: [
          { label: "flagged", data: volume.map(function (r) { return r.flagged; }), backgroundColor: POS, yAxisID: "y" },
          { label: "all decisions", data: volume.map(function (r) { return r.total; }), type: "line", borderColor: "#7f8c8d", yAxisID: "y1" }
        ] },
        options: { responsive: true, maintainAspectRatio: false, animation: false,
                   scales: { y: { position: "left", title: { display: true, text: "flagged" } }, y1: { position: "right", grid: { drawOnChartArea: false } } } }
      });
    }
    var grid = readJson("grid-data"), statuses = readJson("statuses-data"), severities = readJson("severities-data");
    var open = document.getElementById("open-chart");
    if (grid && open) {
      var colours = { low: "#95a5a6", medium: "#f1c40f", high: "#e67e22", critical: "#c0392b" };
      new Chart(open, {
        type: "bar",
        data: { labels: statuses, datasets: severities.map(function (sev, j) {
          return { label: sev, data: grid.map(function (row) { return row[j]; }), backgroundColor: colours[sev] };
        }) },
        options: { responsive: true, maintainAspectRatio: false, animation: false, scales: { x: { stacked: true }, y: { stacked: true, ticks: { precision: 0 } } } }
      });
    }
  }

  function start() {
    tickSla();
    setInterval(tickSla, 30000);
    shapCharts(document);
    activityChart();
    dashboardCharts();
    connect(0);
    document.body.addEventListener("htmx:afterSwap", function (event) {
      tickSla();
      shapCharts(event.target);
      setLiveStatus(lastStatus[0], lastStatus[1]);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
