/* The cell grid: loads the chunks of one format and store (or of several) when they are shown, as
   scripts (so that it works from file:// too), and lays out rows of (case, writer) against readers.
   Keyboard: Tab into the grid, arrow keys, Home/End, PageUp/PageDown move, Enter or Space opens a cell,
   Escape closes it. The selection lives in the URL's fragment, so a link can point at any view. */
(function () {
  "use strict";
  var meta = JSON.parse(document.getElementById("grid-meta").textContent);
  var root = document.body.dataset.root || "";
  var esc = window.ZCSite.esc;
  var OUTCOME_OF = {};
  Object.keys(meta.codes).forEach(function (o) { OUTCOME_OF[meta.codes[o]] = o; });
  var PAGE = 250;

  var $ = function (id) { return document.getElementById(id); };
  var els = {
    format: $("g-format"), store: $("g-store"), writer: $("g-writer"), reader: $("g-reader"), outcome: $("g-outcome"),
    "case": $("g-case"), feature: $("g-feature"), unexpected: $("g-unexpected"), absent: $("g-absent")
  };
  var status = $("g-status"), holder = $("g-table"), more = $("g-more");
  var detail = $("detail"), detailBody = $("detail-body");

  // --- loading chunks --------------------------------------------------------------------------
  var loaded = {}, waiting = {};
  function key(fmt, store, access) { return fmt + "|" + store + "|" + access; }
  window.ZC = window.ZC || {};
  window.ZC.chunk = function (c) {
    var k = key(c.format, c.store, c.access);
    c.readerIndex = {};
    c.readers.forEach(function (r, i) { c.readerIndex[r] = i; });
    loaded[k] = c;
    (waiting[k] || []).forEach(function (w) { w[0](c); });
    delete waiting[k];
  };
  function load(ch) {
    var k = key(ch.format, ch.store, ch.access);
    if (loaded[k]) return Promise.resolve(loaded[k]);
    return new Promise(function (resolve, reject) {
      var first = !waiting[k];
      (waiting[k] = waiting[k] || []).push([resolve, reject]);
      if (!first) return;
      var s = document.createElement("script");
      s.src = root + ch.src;
      s.async = true;
      s.onerror = function () {
        (waiting[k] || []).forEach(function (w) { w[1](new Error("cannot load " + ch.src)); });
        delete waiting[k];
      };
      document.head.appendChild(s);
    });
  }

  // --- state ---------------------------------------------------------------------------------------
  var formats = [];
  meta.chunks.forEach(function (c) { if (formats.indexOf(c.format) < 0) formats.push(c.format); });
  function readState() {
    var p = new URLSearchParams(location.hash.slice(1));
    var st = {};
    ["format", "store", "access", "writer", "reader", "outcome", "case", "feature"].forEach(function (k) { st[k] = p.get(k) || ""; });
    st.unexpected = p.get("unexpected") === "1";
    st.absent = p.get("absent") === "1";
    if (!p.has("format")) st.format = formats[0] || "";
    if (!st.store) {
      var first = meta.chunks.filter(function (c) { return !st.format || c.format === st.format; })[0];
      st.store = first ? first.store : "all";
      st.access = first ? first.access : "";
    }
    if (st.store !== "all" && !st.access) st.access = "signed";
    return st;
  }
  function writeState(st) {
    var p = new URLSearchParams();
    p.set("format", st.format);
    p.set("store", st.store);
    if (st.store !== "all") p.set("access", st.access);
    ["writer", "reader", "outcome", "case", "feature"].forEach(function (k) { if (st[k]) p.set(k, st[k]); });
    if (st.unexpected) p.set("unexpected", "1");
    if (st.absent) p.set("absent", "1");
    history.replaceState(null, "", "#" + p.toString());
  }
  function fromControls() {
    var sa = els.store.value === "all" ? ["all", ""] : els.store.value.split("|");
    return {
      format: els.format.value, store: sa[0], access: sa[1], writer: els.writer.value, reader: els.reader.value,
      outcome: els.outcome.value, "case": els["case"].value.trim(), feature: els.feature.value.trim(),
      unexpected: els.unexpected.checked, absent: els.absent.checked
    };
  }
  function option(value, text, selected) {
    var o = document.createElement("option");
    o.value = value; o.textContent = text; if (selected) o.selected = true;
    return o;
  }
  function fillControls(st) {
    els.format.innerHTML = "";
    els.format.appendChild(option("", "every format", st.format === ""));
    formats.forEach(function (f) { els.format.appendChild(option(f, f, f === st.format)); });
    els.store.innerHTML = "";
    els.store.appendChild(option("all", "every store", st.store === "all"));
    var seen = {};
    meta.chunks.forEach(function (c) {
      if (st.format && c.format !== st.format) return;
      var v = c.store + "|" + c.access;
      if (seen[v]) return;
      seen[v] = 1;
      els.store.appendChild(option(v, c.access === "signed" ? c.store : c.store + " · " + c.access,
        st.store === c.store && st.access === c.access));
    });
    if (st.store !== "all" && !seen[st.store + "|" + st.access]) els.store.value = "all";
    els.outcome.value = st.outcome;
    els["case"].value = st["case"];
    els.feature.value = st.feature;
    els.unexpected.checked = st.unexpected;
    els.absent.checked = st.absent;
  }
  function fillPeople(st, writers, readers) {
    [["writer", writers, "every writer"], ["reader", readers, "every reader"]].forEach(function (x) {
      var sel = els[x[0]];
      sel.innerHTML = "";
      sel.appendChild(option("", x[2], !st[x[0]]));
      var list = x[1].slice();
      if (st[x[0]] && list.indexOf(st[x[0]]) < 0) list.push(st[x[0]]);
      list.forEach(function (v) { sel.appendChild(option(v, v, v === st[x[0]])); });
    });
  }
  var features = {};
  Object.keys(meta.features).forEach(function (c) { meta.features[c].forEach(function (f) { features[f] = 1; }); });
  var dl = $("g-features");
  Object.keys(features).sort().forEach(function (f) { dl.appendChild(option(f, f)); });

  // --- rendering -------------------------------------------------------------------------------------
  var view = null; // {rows, readers, chunks, multi, shown}
  var focus = { r: 0, c: 0 };

  function selectedChunks(st) {
    return meta.chunks.filter(function (c) {
      return (!st.format || c.format === st.format) &&
        (st.store === "all" || (c.store === st.store && c.access === st.access));
    });
  }

  function show() {
    var st = fromControls();
    writeState(st);
    render(st);
  }

  function render(st) {
    var chs = selectedChunks(st);
    if (!chs.length) {
      status.textContent = "No cells for this format and store.";
      holder.innerHTML = "";
      more.hidden = true;
      return;
    }
    status.textContent = "Loading " + chs.length + " part" + (chs.length > 1 ? "s" : "") + " of the grid…";
    Promise.all(chs.map(load)).then(function (chunks) { layout(st, chunks); }, function (err) {
      status.textContent = String(err.message || err) + " (the site's data files are missing?)";
    });
  }

  function layout(st, chunks) {
    var readerSet = {}, writerSet = {};
    chunks.forEach(function (c) {
      c.readers.forEach(function (r) { readerSet[r] = 1; });
      c.writers.forEach(function (w) { writerSet[w] = 1; });
    });
    var allReaders = Object.keys(readerSet).sort(), allWriters = Object.keys(writerSet).sort();
    fillPeople(st, allWriters, allReaders);
    var readers = st.reader ? allReaders.filter(function (r) { return r === st.reader; }) : allReaders;
    var multi = chunks.length > 1;
    var q = st["case"].toLowerCase(), fq = st.feature.toLowerCase();
    var want = st.outcome ? (st.outcome === "fail" ? null : meta.codes[st.outcome]) : "";
    var rows = [], total = 0;
    chunks.forEach(function (c, ci) {
      var cols = readers.map(function (r) { return c.readerIndex[r] == null ? -1 : c.readerIndex[r]; });
      c.rows.forEach(function (row, ri) {
        var cs = c.cases[row[0]], w = c.writers[row[1]];
        if (st.writer && w !== st.writer) return;
        if (q && cs.toLowerCase().indexOf(q) < 0) return;
        if (fq && !(meta.features[cs] || []).some(function (f) { return f.toLowerCase().indexOf(fq) >= 0; })) return;
        var codes = "";
        for (var j = 0; j < cols.length; j++) codes += cols[j] < 0 ? "." : row[2][cols[j]];
        var lower = codes.toLowerCase();
        if (!/[^s.]/.test(lower) && !st.absent) return;
        if (st.unexpected && !/[A-Z]/.test(codes)) return;
        if (want === null && !/[^ps.]/.test(lower)) return;
        if (want && lower.indexOf(want) < 0) return;
        total += codes.replace(/\./g, "").length;
        rows.push({ chunk: c, ci: ci, ri: ri, "case": cs, writer: w, codes: codes, cols: cols });
      });
    });
    rows.sort(function (a, b) {
      return a["case"] < b["case"] ? -1 : a["case"] > b["case"] ? 1 : a.writer < b.writer ? -1 : a.writer > b.writer ? 1 : a.ci - b.ci;
    });
    view = { rows: rows, readers: readers, chunks: chunks, multi: multi, shown: 0 };
    focus = { r: 0, c: 0 };
    var head = '<table class="grid" role="grid" aria-rowcount="' + (rows.length + 1) + '" aria-label="cells: rows are case and writer' +
      (multi ? " and store" : "") + ', columns readers"><thead><tr role="row"><th scope="col" role="columnheader">case</th>' +
      '<th scope="col" role="columnheader">writer</th>' + (multi ? '<th scope="col" role="columnheader">store</th>' : "");
    readers.forEach(function (r) { head += '<th scope="col" class="rd" role="columnheader">' + esc(r) + "</th>"; });
    head += "</tr></thead><tbody></tbody></table>";
    holder.innerHTML = head;
    appendRows();
    var where = (st.format || "every format") + ", " + (st.store === "all" ? "every store" : st.store + (st.access !== "signed" ? " · " + st.access : ""));
    status.textContent = rows.length + " rows, " + total + " cells (" + where + ")" + (rows.length ? "" : ": nothing matches the filters");
  }

  function appendRows() {
    var tbody = holder.querySelector("tbody");
    if (!tbody) return;
    var start = view.shown, end = Math.min(view.rows.length, start + PAGE), html = "";
    for (var i = start; i < end; i++) {
      var row = view.rows[i], c = row.chunk;
      html += '<tr role="row"><td class="case" role="rowheader">' + esc(row["case"]) + '</td><td class="writer">' + esc(row.writer) + "</td>" +
        (view.multi ? '<td class="store">' + esc(c.access === "signed" ? c.store : c.store + " · " + c.access) + "</td>" : "");
      for (var j = 0; j < row.codes.length; j++) {
        var code = row.codes[j];
        var tab = (i === focus.r && j === focus.c) ? "0" : "-1";
        if (code === ".") {
          html += '<td class="none" role="gridcell" tabindex="' + tab + '" data-k="' + i + ":" + j + '"><span class="sr">no cell</span></td>';
          continue;
        }
        var o = OUTCOME_OF[code.toLowerCase()] || "error";
        var unexpected = code !== code.toLowerCase();
        var d = c.details[row.ri + ":" + row.cols[j]];
        var faulty = d && c.strings[d[5]] === "faulty-dataset";
        html += '<td class="cell o-' + o + (unexpected ? " unexpected" : "") + (faulty ? " faulty" : "") + '" role="gridcell" tabindex="' + tab +
          '" data-k="' + i + ":" + j + '">' + meta.marks[o] + '<span class="sr"> ' + o + (unexpected ? ", unexpected" : "") + "</span></td>";
      }
      html += "</tr>";
    }
    tbody.insertAdjacentHTML("beforeend", html);
    view.shown = end;
    more.hidden = view.shown >= view.rows.length;
    more.textContent = "show " + Math.min(PAGE, view.rows.length - view.shown) + " more rows (" + (view.rows.length - view.shown) + " left)";
  }

  // --- the detail panel --------------------------------------------------------------------------------
  var lastCell = null;
  function openCell(td) {
    var k = td.dataset.k.split(":"), row = view.rows[+k[0]], j = +k[1];
    var reader = view.readers[j], c = row.chunk, code = row.codes[j];
    if (code === ".") return;
    var o = OUTCOME_OF[code.toLowerCase()] || "error", unexpected = code !== code.toLowerCase();
    var d = c.details[row.ri + ":" + row.cols[j]] || [0, 0, 0, 0, 0, 0, 0];
    var s = function (i) { return c.strings[d[i]] || ""; };
    var impl = meta.implementations;
    var html = '<h2 id="detail-title">' + meta.marks[o] + " " + esc(o) + (unexpected ? " <small>(unexpected" +
      (s(4) ? "; expected " + esc(s(4)) : "; expected pass") + ")</small>" : (s(4) ? " <small>(expected: " + esc(s(4)) + ")</small>" : "")) + "</h2>";
    html += "<table>";
    [["writer", row.writer + (impl[row.writer] ? " (reports " + impl[row.writer].version + ")" : "")],
      ["case", row["case"]], ["features", (meta.features[row["case"]] || []).join(", ")],
      ["store", c.store + (c.access !== "signed" ? " · " + c.access : "")], ["format", c.format],
      ["reader", reader + (impl[reader] ? " (reports " + impl[reader].version + ")" : "")]].forEach(function (x) {
      html += "<tr><th>" + x[0] + "</th><td>" + esc(x[1]) + "</td></tr>";
    });
    html += "</table>";
    if (s(0)) html += "<h3>message</h3><pre>" + esc(s(0)) + "</pre>";
    if (s(1)) html += "<h3>diagnosis</h3><pre>" + esc(s(1)) + "</pre>";
    if (s(3)) html += "<p>read " + s(3).split(",").length + " times: " + esc(s(3).split(",").join(", ")) + "</p>";
    if (s(5) === "faulty-dataset") html += "<h3>the writer wrote this dataset wrong</h3><pre>" + esc(s(6)) + "</pre><p>not counted against the reader</p>";
    var fid = s(2);
    if (fid) {
      var f = meta.findings[fid];
      html += "<h3>known: " + esc(f ? f[0] : fid) + "</h3><p><a href=\"" + root + "findings.html#" + encodeURIComponent(fid) + "\">" + esc(fid) +
        "</a>" + (f ? " (" + esc(f[1]) + ", " + esc(f[3]) + ")" : "") + (f && f[2] ? ' — <a href="' + esc(f[2]) + '" rel="noopener">upstream</a>' : " — unreported") + "</p>";
    }
    detailBody.innerHTML = html;
    detail.hidden = false;
    lastCell = td;
    $("detail-close").focus();
  }
  function closeDetail() {
    detail.hidden = true;
    if (lastCell && document.body.contains(lastCell)) lastCell.focus();
  }
  $("detail-close").addEventListener("click", closeDetail);
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && !detail.hidden) { ev.preventDefault(); closeDetail(); }
  });

  holder.addEventListener("click", function (ev) {
    var td = ev.target.closest("td[data-k]");
    if (td) { moveFocus(td); openCell(td); }
  });
  function cellAt(r, c) { return holder.querySelector('td[data-k="' + r + ":" + c + '"]'); }
  function moveFocus(td) {
    var old = holder.querySelector('td[tabindex="0"]');
    if (old && old !== td) old.setAttribute("tabindex", "-1");
    td.setAttribute("tabindex", "0");
    var k = td.dataset.k.split(":");
    focus = { r: +k[0], c: +k[1] };
    td.focus();
  }
  holder.addEventListener("keydown", function (ev) {
    var td = ev.target.closest && ev.target.closest("td[data-k]");
    if (!td || !view) return;
    var r = focus.r, c = focus.c, n = view.readers.length;
    switch (ev.key) {
      case "ArrowRight": c = Math.min(n - 1, c + 1); break;
      case "ArrowLeft": c = Math.max(0, c - 1); break;
      case "ArrowDown": r = r + 1; break;
      case "ArrowUp": r = Math.max(0, r - 1); break;
      case "PageDown": r = r + 20; break;
      case "PageUp": r = Math.max(0, r - 20); break;
      case "Home": c = 0; if (ev.ctrlKey) r = 0; break;
      case "End": c = n - 1; if (ev.ctrlKey) r = view.rows.length - 1; break;
      case "Enter": case " ": ev.preventDefault(); openCell(td); return;
      default: return;
    }
    ev.preventDefault();
    r = Math.min(r, view.rows.length - 1);
    while (r >= view.shown && view.shown < view.rows.length) appendRows();
    var next = cellAt(r, c);
    if (next) moveFocus(next);
  });
  more.addEventListener("click", appendRows);

  // --- wiring ----------------------------------------------------------------------------------------------
  function apply() {
    var st = readState();
    fillControls(st);
    fillPeople(st, [], []);
    render(st);
  }
  els.format.addEventListener("change", function () {
    var st = fromControls();
    fillControls(st);
    show();
  });
  ["store", "writer", "reader", "outcome", "unexpected", "absent"].forEach(function (k) { els[k].addEventListener("change", show); });
  var timer = null;
  ["case", "feature"].forEach(function (k) {
    els[k].addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(show, 150); });
  });
  $("g-reset").addEventListener("click", function () { location.hash = ""; apply(); });
  window.addEventListener("hashchange", apply);
  apply();
})();
