(function () {
  "use strict";
  var table = document.getElementById("findings");
  if (!table) { return; }
  var body = table.tBodies[0];
  var q = document.getElementById("q");
  var st = document.getElementById("status");
  var shown = document.getElementById("shown");
  var heads = table.tHead.rows[0].cells;
  function value(row, i) {
    var c = row.cells[i];
    var v = c.getAttribute("data-v");
    return v === null ? c.textContent.trim() : v;
  }
  function apply() {
    var text = q.value.toLowerCase(), status = st.value, n = 0;
    for (var i = 0; i < body.rows.length; i++) {
      var r = body.rows[i];
      var ok = (!status || r.getAttribute("data-status") === status) &&
        (!text || r.textContent.toLowerCase().indexOf(text) >= 0);
      r.hidden = !ok;
      if (ok) { n++; }
    }
    shown.textContent = String(n);
  }
  function sortBy(i, dir) {
    for (var j = 0; j < heads.length; j++) { heads[j].removeAttribute("aria-sort"); }
    heads[i].setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, i), y = value(b, i);
      var nx = parseFloat(x), ny = parseFloat(y);
      if (x !== "" && y !== "" && String(nx) === x && String(ny) === y) { return (nx - ny) * dir; }
      return x.localeCompare(y) * dir;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  Array.prototype.forEach.call(heads, function (th, i) {
    th.addEventListener("click", function () {
      sortBy(i, th.getAttribute("aria-sort") === "ascending" ? -1 : 1);
    });
  });
  q.addEventListener("input", apply);
  st.addEventListener("change", apply);
  // The fragment sets the initial view, so a view can be linked:
  // #q=text&status=FAIL&sort=3&dir=desc
  var h = new URLSearchParams(location.hash.slice(1));
  if (h.get("q")) { q.value = h.get("q"); }
  if (h.get("status")) { st.value = h.get("status"); }
  var s = parseInt(h.get("sort"), 10);
  if (s >= 0 && s < heads.length) { sortBy(s, h.get("dir") === "desc" ? -1 : 1); }
  apply();
  document.documentElement.setAttribute("data-ready", "1");
})();
