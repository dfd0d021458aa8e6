/* zarr-conformance site: the behaviour every page shares (no library, no network). */
(function () {
  "use strict";

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }

  function shareText(p, n) {
    if (!n) return "–";
    if (p === n) return "100";
    if (p === 0) return "0";
    var pct = 100 * p / n;
    return pct < 1 ? "<1" : pct > 99 ? ">99" : String(Math.floor(pct));
  }

  function bin(p, n) {
    if (!n) return "none";
    if (p === n) return "h10";
    return "h" + Math.min(9, Math.floor(10 * p / n));
  }

  function slug(s) {
    return String(s).replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^_+|_+$/g, "") || "_";
  }

  function gridLink(params) {
    var q = [];
    Object.keys(params).forEach(function (k) {
      if (params[k] !== "" && params[k] != null) q.push(encodeURIComponent(k) + "=" + encodeURIComponent(params[k]));
    });
    return "grid.html#" + q.join("&");
  }

  // Landing page: each format's heatmap can show every store or one store and access mode.
  document.querySelectorAll("section.heat").forEach(function (sec) {
    var sel = sec.querySelector("select.heat-store");
    var dataEl = sec.querySelector("script.heat-data");
    if (!sel || !dataEl) return;
    var data = JSON.parse(dataEl.textContent);
    var fmt = sec.dataset.format;
    sel.addEventListener("change", function () {
      var view = data.views[sel.value];
      var tbody = sec.querySelector("tbody");
      var sa = sel.value === "all" ? ["all", ""] : sel.value.split("|");
      var html = "";
      data.writers.forEach(function (w, wi) {
        html += '<tr><th scope="row"><a href="impl/' + esc(slug(w.split("@")[0])) + '.html">' + esc(w) + "</a></th>";
        data.readers.forEach(function (rd, ri) {
          var c = view[wi][ri];
          var label = "writer " + w + ", reader " + rd;
          if (!c) {
            html += '<td class="sh none"><span aria-label="' + esc(label) + ': no cells">–</span></td>';
            return;
          }
          var p = c[0], n = c[1], mism = c[2], uns = c[3], t = shareText(p, n);
          var aria = label + ": " + t + "% of " + n + " cells pass" + (mism ? ", " + mism + " silent wrong values" : "") +
            (uns ? ", " + uns + " unsupported" : "");
          var link = gridLink({ format: fmt, store: sa[0], access: sa[1], writer: w, reader: rd });
          var extra = mism ? '<span class="wv" aria-hidden="true">≠</span>' :
            (uns && uns === n - p ? '<span class="us" aria-hidden="true">U</span>' : "");
          html += '<td class="sh ' + bin(p, n) + '"><a href="' + esc(link) + '" aria-label="' + esc(aria) + '" title="' +
            p + " of " + n + ' pass">' + t + extra + "</a></td>";
        });
        html += "</tr>";
      });
      tbody.innerHTML = html;
    });
  });

  // Arrow keys move between the links of a heatmap (Tab and Enter work as everywhere).
  document.addEventListener("keydown", function (ev) {
    var a = ev.target;
    if (!a.closest || !a.closest("table.heatmap")) return;
    var td = a.closest("td, th");
    if (!td) return;
    var tr = td.parentElement, col = Array.prototype.indexOf.call(tr.children, td), target = null;
    if (ev.key === "ArrowRight") target = td.nextElementSibling;
    else if (ev.key === "ArrowLeft") target = td.previousElementSibling;
    else if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      var row = ev.key === "ArrowDown" ? tr.nextElementSibling : tr.previousElementSibling;
      while (row && row.children.length <= col) row = ev.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
      target = row ? row.children[col] : null;
    } else return;
    var link = target && target.querySelector("a, button");
    if (link) { ev.preventDefault(); link.focus(); }
  });

  // What is safe to write: a feature's row opens onto its cases.
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("button.expand");
    if (!b) return;
    var row = document.getElementById(b.getAttribute("aria-controls"));
    var open = b.getAttribute("aria-expanded") !== "true";
    b.setAttribute("aria-expanded", open ? "true" : "false");
    if (row) {
      row.hidden = !open;
      var holder = row.querySelector(".cases-holder");
      if (open && holder && !holder.firstChild) holder.innerHTML = casesTable(holder.dataset.format, holder.dataset.cases.split(" "));
    }
  });

  var safeData = {};
  document.querySelectorAll("script.safe-data").forEach(function (el) {
    safeData[el.dataset.format] = JSON.parse(el.textContent);
  });

  function shareCell(c, link, label) {
    if (!c) return '<td class="sh none"><span aria-label="' + esc(label) + ': no cells">–</span></td>';
    var p = c[0], n = c[1], mism = c[2], uns = c[3], t = shareText(p, n);
    var aria = label + ": " + t + "% of " + n + " cells pass" + (mism ? ", " + mism + " silent wrong values" : "") +
      (uns ? ", " + uns + " unsupported" : "");
    var extra = mism ? '<span class="wv" aria-hidden="true">≠</span>' :
      (uns && uns === n - p ? '<span class="us" aria-hidden="true">U</span>' : "");
    return '<td class="sh ' + bin(p, n) + '"><a href="' + esc(link) + '" aria-label="' + esc(aria) + '" title="' + p + " of " + n +
      ' pass">' + t + extra + "</a></td>";
  }

  // What is safe to write: the cases of a feature, with their codec parameters, per reader.
  function casesTable(fmt, ids) {
    var d = safeData[fmt];
    if (!d) return "";
    var html = '<table class="cases-table"><thead><tr><th scope="col">case and its parameters</th>';
    d.readers.forEach(function (r) { html += '<th scope="col" class="rd">' + esc(r) + "</th>"; });
    html += "</tr></thead><tbody>";
    ids.forEach(function (cs) {
      var c = d.cases[cs];
      if (!c) return;
      html += '<tr><th scope="row"><code>' + esc(cs) + '</code><dl class="params">';
      c.params.forEach(function (kv) { html += "<dt>" + esc(kv[0]) + "</dt><dd><code>" + esc(kv[1]) + "</code></dd>"; });
      var refused = Object.keys(c.refused).map(function (w) { return w + " (" + c.refused[w] + ")"; });
      html += '</dl><span class="muted small">written by ' + c.writers.length + (c.writers.length ? ": " + esc(c.writers.join(", ")) : "") +
        (refused.length ? "; refused or failed by " + esc(refused.join(", ")) : "") + "</span></th>";
      d.readers.forEach(function (rd, i) {
        html += shareCell(c.cells[i], gridLink({ format: fmt, store: "all", reader: rd, "case": cs }), cs + ", reader " + rd);
      });
      html += "</tr>";
      c.stores.forEach(function (s) {
        html += '<tr class="store-row"><th scope="row" class="small">… ' + esc(s[0]) + "</th>";
        d.readers.forEach(function (rd, i) {
          html += shareCell(s[3][i], gridLink({ format: fmt, store: s[1], access: s[2], reader: rd, "case": cs }), cs + " on " + s[0] + ", reader " + rd);
        });
        html += "</tr>";
      });
      var why = {};
      c.findings.forEach(function (fs) { fs.forEach(function (f) { why[f] = 1; }); });
      var ids2 = Object.keys(why);
      if (ids2.length) {
        html += '<tr class="why"><td colspan="' + (d.readers.length + 1) + '" class="small">Why not: ' + ids2.map(function (f) {
          var fi = d.findings[f];
          return '<a href="findings.html#' + encodeURIComponent(f) + '">' + esc(fi ? fi[0] : f) + "</a>" + (fi ? " (" + esc(fi[1]) + ")" : "");
        }).join("; ") + "</td></tr>";
      }
    });
    return html + "</tbody></table>";
  }

  // Findings: a filter over id, title and implementation.
  var ff = document.getElementById("finding-filter");
  if (ff) {
    ff.addEventListener("input", function () {
      var q = ff.value.trim().toLowerCase();
      document.querySelectorAll("article.finding").forEach(function (a) {
        a.hidden = q && a.dataset.text.indexOf(q) < 0;
      });
    });
  }

  window.ZCSite = { esc: esc, slug: slug, shareText: shareText, bin: bin, gridLink: gridLink };
})();
