/* Snap-and-report pages (随手拍). Without JS every form still works as a plain POST/GET.
 * Report form: the phone's location or a draggable pin (arrow keys move a focused pin),
 * a place picker and typed coordinates as the fallbacks; up to 3 photos with previews,
 * kept across the htmx re-render after an error; the category's extra fields and the
 * "already reported?" list fetched when the category or the point changes.
 * Public map: the listed cases as pins, refreshed when the filters change. */
(function () {
  "use strict";
  var MAX_BYTES = 10 * 1024 * 1024;
  function $(id) { return document.getElementById(id); }
  function debounce(fn, ms) { var t; return function () { clearTimeout(t); t = setTimeout(fn, ms); }; }

  function reportForm() {
    var form0 = $("report-form");
    if (!form0) return;
    var cfg = window.YZMap ? window.YZMap.config("map-config") : {};
    var ymap = window.YZMap ? window.YZMap.create("pick-map", cfg) : null;
    var pin = null, files = [];
    function form() { return $("report-form"); }
    function field(name) { return form().querySelector("[name='" + name + "']"); }
    function status(key) { var s = $("locate-status"); if (s) s.textContent = key ? s.dataset[key] || "" : ""; }

    // ---- location
    function setPin(lat, lng, pan) {
      if (!ymap) return;
      var p = ymap.toMap(lat, lng);
      if (!pin) {
        var icon = L.divIcon({ className: "yz-report-pin", html: "<span></span>", iconSize: [28, 32], iconAnchor: [14, 31] });
        pin = L.marker(p, { draggable: true, keyboard: true, icon: icon, title: "📍", autoPan: true }).addTo(ymap.map);
        pin.on("dragend", function () { var ll = pin.getLatLng(), w = ymap.fromMap(ll.lat, ll.lng); usePoint(w[0], w[1], "picked", false); });
        var el = pin.getElement();
        if (el) {
          el.setAttribute("aria-label", $("pick-map").getAttribute("aria-label"));
          el.addEventListener("keydown", function (e) {
            var d = { ArrowUp: [1, 0], ArrowDown: [-1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[e.key];
            if (!d) return;
            e.preventDefault(); e.stopPropagation();
            var lat0 = parseFloat(field("lat").value), lng0 = parseFloat(field("lng").value);
            usePoint(lat0 + d[0] * 0.00005, lng0 + d[1] * 0.00006, "picked", true);
          });
        }
      } else pin.setLatLng(p);
      if (pan) ymap.map.setView(p, Math.max(ymap.map.getZoom(), 17));
    }
    function usePoint(lat, lng, msg, pan) {
      field("lat").value = lat.toFixed(6); field("lng").value = lng.toFixed(6);
      setPin(lat, lng, pan);
      if (msg) status(msg);
      checkDuplicates();
    }
    function locate() {
      if (!navigator.geolocation) { status("denied"); return; }
      status("asking");
      navigator.geolocation.getCurrentPosition(function (pos) {
        var place = field("place"); if (place) place.value = "";
        usePoint(pos.coords.latitude, pos.coords.longitude, "located", true);
      }, function () { status("denied"); }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 });
    }
    Array.prototype.forEach.call(document.querySelectorAll(".photo-input"), function (i) { i.classList.add("enhanced"); });
    if (ymap) ymap.onPick(function (a, b) { usePoint(a, b, "picked", false); });
    var btn = $("locate-btn");
    if (btn) { btn.hidden = false; btn.addEventListener("click", locate); }

    // ---- category: its extra fields, then the duplicates
    function category() { var c = form().querySelector("input[name=category]:checked"); return c ? c.value : ""; }
    var checkDuplicates = debounce(function () {
      var f = form(), cat = category(), lat = field("lat").value, lng = field("lng").value;
      if (!window.htmx || !cat || !lat || !lng) return;
      var q = new URLSearchParams({ category: cat, lat: lat, lng: lng }).toString();
      window.htmx.ajax("GET", f.dataset.dupUrl + "?" + q, { target: "#duplicates", swap: "innerHTML" });
    }, 300);
    function loadFields() {
      var cat = category();
      if (!window.htmx || !cat) return;
      window.htmx.ajax("GET", form().dataset.fieldsUrl + "?" + new URLSearchParams({ category: cat }),
        { target: "#extra-fields", swap: "innerHTML" });
    }

    // ---- photos: up to 3, kept in `files` so a second pick adds to the first
    function photoInput() { return $("id_photos"); }
    function photoError(msg) { var e = $("photos-client-error"); if (!e) return; e.textContent = msg || ""; e.hidden = !msg; }
    function syncInput() {
      try { var dt = new DataTransfer(); files.forEach(function (f) { dt.items.add(f); }); photoInput().files = dt.files; return true; }
      catch (e) { return false; /* old browser: each input keeps its last pick */ }
    }
    function previews() {
      var ul = $("photo-previews"); if (!ul) return;
      var T = ul.dataset;
      ul.textContent = "";
      files.forEach(function (f, i) {
        var li = document.createElement("li"), img = document.createElement("img"), rm = document.createElement("button");
        img.src = URL.createObjectURL(f); img.alt = f.name; img.width = 88; img.height = 88;
        img.onload = function () { URL.revokeObjectURL(img.src); };
        rm.type = "button"; rm.className = "btn btn-small"; rm.textContent = T.remove;
        rm.setAttribute("aria-label", T.remove + " " + f.name);
        rm.addEventListener("click", function () { files.splice(i, 1); syncInput(); previews(); photoError(""); photoInput().focus(); });
        li.appendChild(img); li.appendChild(rm); ul.appendChild(li);
      });
    }
    function onPhotos(input) {
      var T = $("photo-previews").dataset, max = +form().dataset.maxPhotos || 3, msg = "";
      Array.prototype.forEach.call(input.files || [], function (f) {
        var seen = files.some(function (g) { return g.name === f.name && g.size === f.size && g.lastModified === f.lastModified; });
        if (seen) return;
        if (f.type && f.type.indexOf("image/") !== 0) { msg = T.notImage; return; }
        if (f.size > MAX_BYTES) { msg = T.tooBig; return; }
        if (files.length >= max) { msg = T.tooMany; return; }
        files.push(f);
      });
      // The camera input carries every photo; the gallery one only hands its picks over.
      if (syncInput() && input !== photoInput()) input.value = "";
      previews(); photoError(msg);
    }

    // ---- category search: filters the grid by either name, keywords or class (no mouse needed)
    function filterCategories() {
      var box = $("cat-search"), st = $("cat-search-status");
      if (!box) return;
      var words = box.value.trim().toLowerCase().split(/\s+/).filter(Boolean), shown = 0;
      Array.prototype.forEach.call(form().querySelectorAll("#cat-groups .cat-group"), function (g) {
        var any = false;
        Array.prototype.forEach.call(g.querySelectorAll(".cat"), function (c) {
          var hay = (c.dataset.search || "") + " " + c.textContent.toLowerCase();
          var ok = words.every(function (w) { return hay.indexOf(w) >= 0; });
          c.hidden = !ok; if (ok) { any = true; shown++; }
        });
        g.hidden = !any;
      });
      if (st) st.textContent = shown ? "" : st.dataset.none;
    }
    function enableSearch() { var b = $("cat-search-box"); if (b) b.hidden = false; filterCategories(); }

    function counter() {
      var ta = field("description"), c = $("desc-count");
      if (ta && c) c.textContent = ta.value.length + " / " + c.dataset.max;
    }

    // Delegated: the form is re-rendered by htmx after an error (map and photos are hx-preserve'd).
    document.addEventListener("change", function (e) {
      var t = e.target; if (!form() || !form().contains(t)) return;
      if (t.name === "category") { loadFields(); checkDuplicates(); }
      else if (t.name === "photos") onPhotos(t);
      else if (t.name === "place" && t.value) {
        var o = t.options[t.selectedIndex];
        usePoint(parseFloat(o.dataset.lat), parseFloat(o.dataset.lng), "picked", true);
      } else if ((t.name === "lat" || t.name === "lng") && field("lat").value && field("lng").value) {
        var a = parseFloat(field("lat").value), b = parseFloat(field("lng").value);
        if (isFinite(a) && isFinite(b)) { setPin(a, b, true); checkDuplicates(); }
      }
    });
    document.addEventListener("input", function (e) {
      if (e.target.name === "description") counter();
      else if (e.target.id === "cat-search") filterCategories();
    });
    // Enter in the search box picks the only match (or the first) instead of submitting.
    document.addEventListener("keydown", function (e) {
      if (e.target.id !== "cat-search" || e.key !== "Enter") return;
      e.preventDefault();
      var first = form().querySelector("#cat-groups .cat:not([hidden]) input[name=category]");
      if (first) { first.checked = true; first.focus(); first.dispatchEvent(new Event("change", { bubbles: true })); }
    });
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.detail.target && e.detail.target.id === "report-form") {
        counter(); enableSearch();
        var a = parseFloat(field("lat").value), b = parseFloat(field("lng").value);
        if (isFinite(a) && isFinite(b)) setPin(a, b, false);
        var err = form().querySelector(".error[role=alert], .alert-error");
        if (err) err.scrollIntoView({ block: "center" });
      }
    });
    document.body.addEventListener("htmx:beforeRequest", function (e) {
      if (e.detail.elt === form()) syncInput();
    });

    var lat0 = parseFloat(field("lat").value), lng0 = parseFloat(field("lng").value);
    if (isFinite(lat0) && isFinite(lng0)) { setPin(lat0, lng0, true); checkDuplicates(); }
    else locate();
    if (category()) loadFields();
    enableSearch();
    counter();
  }

  function publicMap() {
    var el = $("cases-map");
    if (!el || !window.YZMap) return;
    var cfg = window.YZMap.config("map-config");
    var m = window.YZMap.create("cases-map", cfg);
    if (!m) return;
    function render() {
      var s = $("case-markers"), list = s ? JSON.parse(s.textContent) || [] : (cfg.markers || []), pts = [];
      m.markers.clearLayers();
      list.forEach(function (c) {
        var p = m.toMap(c.lat, c.lng); pts.push(p);
        var icon = L.divIcon({ className: "yz-case" + (c.done ? " done" : ""), iconSize: [18, 18], iconAnchor: [9, 9] });
        var a = document.createElement("a"); a.href = c.url; a.textContent = c.name;
        L.marker(p, { icon: icon, title: c.name, alt: c.name, keyboard: true }).bindPopup(a).addTo(m.markers);
      });
      if (pts.length > 1) m.map.fitBounds(L.latLngBounds(pts).pad(0.1), { maxZoom: 16 });
      else if (pts.length === 1) m.map.setView(pts[0], 16);
    }
    render();
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.detail.target && e.detail.target.id === "public-list") render();
    });
  }

  document.addEventListener("DOMContentLoaded", function () { reportForm(); publicMap(); });
})();
