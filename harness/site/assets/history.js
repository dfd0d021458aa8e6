/* History: the share of passing cells per implementation and run, drawn with uPlot (bundled, pinned
   in harness/site/frontend/package-lock.json). Lines differ by dash pattern as well as colour; the
   table on the page holds every number. */
(function () {
  "use strict";
  var el = document.getElementById("history-chart");
  var dataEl = document.getElementById("history-data");
  if (!el || !dataEl || typeof uPlot === "undefined") return;
  var h = JSON.parse(dataEl.textContent);
  if (h.runs.length < 2) {
    el.parentElement.hidden = true; // one run draws no line: the table says it all
    return;
  }
  var xs = h.runs.map(function (r, i) {
    var t = Date.parse(r.started);
    return isNaN(t) ? i : t / 1000;
  });
  var palette = ["#0b57d0", "#b3261e", "#146c2e", "#8e4ec6", "#a15c00", "#00658f", "#7d5260", "#3c4043", "#c2185b", "#00796b",
                 "#5e35b1", "#ef6c00", "#2e7d32", "#6d4c41"];
  var dashes = [[], [6, 3], [2, 3], [10, 3, 2, 3], [1, 2], [12, 6]];
  var series = [{}], data = [xs];
  h.rows.forEach(function (row, i) {
    data.push(row.cells.map(function (c) { return c && c.share != null ? Math.round(1000 * c.share) / 10 : null; }));
    series.push({
      label: row.label, stroke: palette[i % palette.length], width: 2, dash: dashes[Math.floor(i / palette.length) % dashes.length].length ?
        dashes[Math.floor(i / palette.length) % dashes.length] : dashes[i % dashes.length],
      spanGaps: false, points: { show: true, size: 6 },
      value: function (u, v) { return v == null ? "–" : v + "%"; }
    });
  });
  var width = Math.max(320, Math.min(el.parentElement.clientWidth || 900, 1100));
  new uPlot({
    width: width, height: 320, series: series,
    scales: { y: { range: [0, 100] } },
    axes: [{}, { values: function (u, vals) { return vals.map(function (v) { return v + "%"; }); } }]
  }, data, el);
})();
