(function () {
  "use strict";
  var dataEl = document.getElementById("issues-data");
  var body = document.getElementById("issue-rows");
  // A page without issues has no table to drive: it is ready as it is.
  if (!dataEl || !body) { document.body.setAttribute("data-ready", "true"); return; }
  // Each issue: [file, row, column, severity, code, message]. Values go into the page with
  // textContent only, never as markup.
  var all = JSON.parse(dataEl.textContent);
  var keys = { file: 0, row: 1, column: 2, severity: 3, code: 4, message: 5 };
  var state = { file: "", severity: "", code: "", sort: "", dir: 1, page: 0, size: 200 };
  var byId = function (id) { return document.getElementById(id); };
  var selects = { file: byId("f-file"), severity: byId("f-severity"), code: byId("f-code") };

  function distinct(i) {
    var seen = {}, out = [];
    all.forEach(function (r) {
      var v = r[i] === null ? "" : String(r[i]);
      if (!(v in seen)) { seen[v] = 0; out.push(v); }
      seen[v] += 1;
    });
    out.sort();
    return out.map(function (v) { return [v, seen[v]]; });
  }
  Object.keys(selects).forEach(function (k) {
    distinct(keys[k]).forEach(function (pair) {
      var o = document.createElement("option");
      o.value = pair[0];
      o.textContent = pair[0] + " (" + pair[1] + ")";
      selects[k].appendChild(o);
    });
  });

  function readHash() {
    var p = new URLSearchParams(location.hash.replace(/^#/, ""));
    state.file = p.get("file") || "";
    state.severity = p.get("severity") || "";
    state.code = p.get("code") || "";
    var sort = p.get("sort") || "";
    state.dir = sort.charAt(0) === "-" ? -1 : 1;
    state.sort = sort.replace(/^-/, "");
    if (!(state.sort in keys)) { state.sort = ""; }
    var size = p.get("size");
    state.size = size === "all" ? Infinity : (parseInt(size, 10) > 0 ? parseInt(size, 10) : 200);
    state.page = Math.max(0, (parseInt(p.get("page"), 10) || 1) - 1);
  }
  function writeHash() {
    var p = new URLSearchParams();
    ["file", "severity", "code"].forEach(function (k) { if (state[k]) { p.set(k, state[k]); } });
    if (state.sort) { p.set("sort", (state.dir < 0 ? "-" : "") + state.sort); }
    if (state.size !== 200) { p.set("size", state.size === Infinity ? "all" : String(state.size)); }
    if (state.page > 0) { p.set("page", String(state.page + 1)); }
    var h = p.toString();
    history.replaceState(null, "", h ? "#" + h : location.pathname + location.search);
  }

  function filtered() {
    var rows = all.filter(function (r) {
      return (!state.file || r[0] === state.file) &&
        (!state.severity || r[3] === state.severity) &&
        (!state.code || r[4] === state.code);
    });
    if (state.sort) {
      var i = keys[state.sort], d = state.dir;
      rows = rows.map(function (r, n) { return [r, n]; });
      rows.sort(function (a, b) {
        var x = a[0][i], y = b[0][i];
        if (x === y) { return a[1] - b[1]; }
        if (x === null) { return 1; }
        if (y === null) { return -1; }
        if (typeof x === "number" && typeof y === "number") { return (x - y) * d; }
        return String(x).localeCompare(String(y)) * d || a[1] - b[1];
      });
      rows = rows.map(function (p) { return p[0]; });
    }
    return rows;
  }

  function cell(tr, v, cls) {
    var td = document.createElement("td");
    td.textContent = v === null ? "" : String(v);
    if (cls) { td.className = cls; }
    tr.appendChild(td);
  }

  function render() {
    Object.keys(selects).forEach(function (k) { selects[k].value = state[k]; });
    byId("f-size").value = state.size === Infinity ? "all" : String(state.size);
    var rows = filtered();
    var pages = Math.max(1, Math.ceil(rows.length / state.size));
    if (state.page >= pages) { state.page = pages - 1; }
    var start = state.size === Infinity ? 0 : state.page * state.size;
    var shown = state.size === Infinity ? rows : rows.slice(start, start + state.size);
    var frag = document.createDocumentFragment();
    shown.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-code", r[4]);
      tr.setAttribute("data-file", r[0]);
      tr.setAttribute("data-severity", r[3]);
      cell(tr, r[0]);
      cell(tr, r[1], "num");
      cell(tr, r[2]);
      cell(tr, r[3], "sev-" + r[3]);
      cell(tr, r[4]);
      cell(tr, r[5]);
      frag.appendChild(tr);
    });
    body.replaceChildren(frag);
    var first = rows.length ? start + 1 : 0;
    byId("status").textContent = "Showing " + first + "\u2013" + (start + shown.length) +
      " of " + rows.length + " issue(s)" +
      (rows.length !== all.length ? " (filtered from " + all.length + ")" : "");
    byId("status").setAttribute("data-matching", String(rows.length));
    byId("page").textContent = "page " + (state.page + 1) + " of " + pages;
    byId("prev").disabled = state.page === 0;
    byId("next").disabled = state.page >= pages - 1;
    document.querySelectorAll("th button[data-sort]").forEach(function (b) {
      var k = b.getAttribute("data-sort");
      if (k === state.sort) {
        b.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
      } else {
        b.removeAttribute("aria-sort");
      }
    });
  }

  function update() { writeHash(); render(); }
  Object.keys(selects).forEach(function (k) {
    selects[k].addEventListener("change", function () { state[k] = selects[k].value; state.page = 0; update(); });
  });
  byId("f-size").addEventListener("change", function () {
    var v = byId("f-size").value;
    state.size = v === "all" ? Infinity : parseInt(v, 10);
    state.page = 0;
    update();
  });
  byId("prev").addEventListener("click", function () { state.page -= 1; update(); });
  byId("next").addEventListener("click", function () { state.page += 1; update(); });
  document.querySelectorAll("th button[data-sort]").forEach(function (b) {
    b.addEventListener("click", function () {
      var k = b.getAttribute("data-sort");
      if (state.sort === k) { state.dir = -state.dir; } else { state.sort = k; state.dir = 1; }
      update();
    });
  });

  // The filtered rows as CSV. A cell a spreadsheet would run as a formula gets a leading '.
  function csvCell(v) {
    var s = v === null ? "" : String(v);
    if (/^[=+\-@\t\r]/.test(s)) { s = "'" + s; }
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  byId("download").addEventListener("click", function () {
    var lines = ["file,row,column,severity,code,message"];
    filtered().forEach(function (r) { lines.push(r.map(csvCell).join(",")); });
    var blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "registrar-issues.csv";
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  });
  window.addEventListener("hashchange", function () { readHash(); render(); });
  readHash();
  render();
  document.body.setAttribute("data-ready", "true");
})();
