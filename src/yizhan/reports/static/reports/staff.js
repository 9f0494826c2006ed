/* Staff pages of the reports app (/work/ and /dispatch/): the inbox map toggle, reply
 * templates that fill the note, the queue's select-all and count, and photo redaction
 * (drag rectangles with a mouse or finger; keyboard users toggle a grid of cells).
 * Everything works without this file: links reload, forms post, cells are checkboxes. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  /* ---- inbox: list / map ------------------------------------------------------- */
  function initInboxMap() {
    var box = document.getElementById("work-map");
    if (!box || !window.YZMap) return;
    var map = null;
    function show(view) {
      var onMap = view === "map";
      box.hidden = !onMap;
      $$(".view-toggle [data-view]").forEach(function (a) {
        var on = a.getAttribute("data-view") === view;
        a.classList.toggle("on", on);
        if (on) a.setAttribute("aria-current", "true"); else a.removeAttribute("aria-current");
      });
      if (onMap && !map) {
        var cfg = window.YZMap.config("work-map-config");
        map = window.YZMap.create("work-map", cfg);
        if (map) map.setMarkers(cfg.markers || [], true);
      } else if (onMap && map) { map.map.invalidateSize(); }
    }
    $$(".view-toggle [data-view]").forEach(function (a) {
      a.addEventListener("click", function (e) {
        e.preventDefault();
        var view = a.getAttribute("data-view");
        show(view);
        if (window.history && history.replaceState) history.replaceState(null, "", "?view=" + view);
      });
    });
    if (!box.hidden) show("map");
  }

  /* ---- reply templates fill the note ------------------------------------------ */
  document.addEventListener("change", function (e) {
    var sel = e.target;
    if (!sel.classList || !sel.classList.contains("reply-tpl")) return;
    var opt = sel.options[sel.selectedIndex];
    var note = document.getElementById(sel.getAttribute("data-note"));
    if (note && opt && opt.getAttribute("data-text") !== null) {
      note.value = opt.getAttribute("data-text");
    }
  });

  /* ---- the console queue: select all, count ----------------------------------- */
  function updateCount() {
    var out = document.getElementById("bulk-count");
    if (!out) return;
    var n = $$("#queue input[name=cases]:checked").length;
    out.textContent = n ? (document.documentElement.lang === "en" ? n + " selected" : "已选 " + n + " 件") : "";
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.id === "check-all") {
      $$("#queue input[name=cases]").forEach(function (cb) { cb.checked = t.checked; });
    }
    if (t.id === "check-all" || t.name === "cases") updateCount();
  });
  document.addEventListener("submit", function (e) {
    if (e.target.id === "bulk-form") {
      var back = e.target.querySelector("input[name=back]");
      if (back) back.value = window.location.search.replace(/^\?/, "");
    }
  });

  /* ---- photo redaction ---------------------------------------------------------- */
  function clamp(v) { return Math.max(0, Math.min(1, v)); }

  function initRedact(form) {
    var box = $(".redact", form);
    if (!box || box.getAttribute("data-ready")) return;
    box.setAttribute("data-ready", "1");
    var layer = $(".redact-rects", box), input = $("input[name=rects]", form);
    var count = $(".redact-count", form), undo = $(".redact-undo", form);
    var cells = $$(".redact-grid input[type=checkbox]", box);
    var n = Math.round(Math.sqrt(cells.length)) || 1;
    var rects = [], start = null, ghost = null;
    // The rectangles of the last publication, to adjust and publish again.
    (box.getAttribute("data-rects") || "").split(";").forEach(function (part) {
      var q = part.split(",").map(parseFloat);
      if (q.length === 4 && q.every(function (v) { return v >= 0 && v <= 1; })) rects.push(q);
    });

    function point(e) {
      var r = box.getBoundingClientRect();
      return [clamp((e.clientX - r.left) / r.width), clamp((e.clientY - r.top) / r.height)];
    }
    function draw(el, q) {
      el.style.left = (q[0] * 100) + "%"; el.style.top = (q[1] * 100) + "%";
      el.style.width = (q[2] * 100) + "%"; el.style.height = (q[3] * 100) + "%";
    }
    function sync() {
      layer.innerHTML = "";
      rects.forEach(function (q) { var d = document.createElement("div"); d.className = "rect"; draw(d, q); layer.appendChild(d); });
      input.value = rects.map(function (q) { return q.map(function (v) { return v.toFixed(4); }).join(","); }).join(";");
      var k = rects.length + cells.filter(function (c) { return c.checked; }).length;
      if (count) count.textContent = k ? (document.documentElement.lang === "en" ? k + " area(s) to blur" : "将模糊 " + k + " 处") : "";
    }
    function rectOf(a, b) { return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1])]; }

    box.addEventListener("pointerdown", function (e) {
      if (e.button !== undefined && e.button !== 0) return;
      e.preventDefault();
      start = point(e);
      ghost = document.createElement("div"); ghost.className = "rect ghost"; layer.appendChild(ghost);
      draw(ghost, [start[0], start[1], 0, 0]);
      if (box.setPointerCapture && e.pointerId !== undefined) { try { box.setPointerCapture(e.pointerId); } catch (err) { /* ignore */ } }
    });
    box.addEventListener("pointermove", function (e) {
      if (!start) return;
      draw(ghost, rectOf(start, point(e)));
    });
    function end(e) {
      if (!start) return;
      var q = rectOf(start, point(e));
      var p = start; start = null;
      if (ghost && ghost.parentNode) ghost.parentNode.removeChild(ghost);
      if (q[2] > 0.01 && q[3] > 0.01) rects.push(q);
      else {
        // A tap: toggle the cell under the finger.
        var c = Math.min(n - 1, Math.floor(p[0] * n)), r = Math.min(n - 1, Math.floor(p[1] * n));
        var cb = cells[r * n + c]; if (cb) cb.checked = !cb.checked;
      }
      sync();
    }
    box.addEventListener("pointerup", end);
    box.addEventListener("pointercancel", function () { start = null; if (ghost && ghost.parentNode) ghost.parentNode.removeChild(ghost); });
    if (undo) undo.addEventListener("click", function () { rects.pop(); sync(); });
    cells.forEach(function (cb, i) {
      cb.tabIndex = i === 0 ? 0 : -1;  // one tab stop; arrows move inside the grid
      cb.addEventListener("change", sync);
      cb.addEventListener("keydown", function (e) {
        var r = Math.floor(i / n), c = i % n, to = null;
        if (e.key === "ArrowRight") to = r * n + Math.min(n - 1, c + 1);
        else if (e.key === "ArrowLeft") to = r * n + Math.max(0, c - 1);
        else if (e.key === "ArrowDown") to = Math.min(n - 1, r + 1) * n + c;
        else if (e.key === "ArrowUp") to = Math.max(0, r - 1) * n + c;
        else if (e.key === "Home") to = r * n;
        else if (e.key === "End") to = r * n + n - 1;
        if (to === null) return;
        e.preventDefault();
        cells.forEach(function (x) { x.tabIndex = -1; });
        cells[to].tabIndex = 0; cells[to].focus();
      });
    });
    sync();
  }

  function initCaseMap(root) {
    var el = $("#case-map", root);
    if (!el || el.getAttribute("data-ready") || !window.YZMap || el.classList.contains("leaflet-container")) return;
    var cfg = window.YZMap.config(el.getAttribute("data-yz-map"));
    var m = window.YZMap.create(el.id, cfg);
    if (m) { m.setMarkers(cfg.markers || [], false); el.setAttribute("data-ready", "1"); }
  }

  function init(root) {
    $$(".redact-form", root).forEach(initRedact);
    updateCount();
  }

  document.addEventListener("DOMContentLoaded", function () { initInboxMap(); init(document); });
  // htmx swapped a fragment in (and settled its attributes): wire the new controls and
  // draw the case's map again.
  document.addEventListener("htmx:afterSettle", function () {
    init(document);
    initCaseMap(document);
    var alert = $("#conflict") || $("#case-main .error") || $("#case-main .alert-success");
    if (alert && alert.scrollIntoView) alert.scrollIntoView({ block: "center" });
  });
})();
