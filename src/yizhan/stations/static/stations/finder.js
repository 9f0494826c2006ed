/* Station finder: browser location, or a picked place / map click, then the
 * server-rendered list (HTMX partial). Without JS the form is a plain GET. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("finder-form");
    if (!form) return;
    var lat = form.querySelector("[name=lat]"), lng = form.querySelector("[name=lng]");
    var place = form.querySelector("[name=place]");
    var status = document.getElementById("locate-status");
    var btn = document.getElementById("locate-btn");
    var cfg = window.YZMap ? window.YZMap.config("map-config") : {};
    var map = window.YZMap ? window.YZMap.create("map", cfg) : null;
    var T = status.dataset;  // messages come translated from the template
    function submit() {
      if (window.htmx) window.htmx.trigger(form, "submit");
      else form.submit();
    }
    function syncUrl() {
      var q = new URLSearchParams(new FormData(form)).toString();
      history.replaceState(null, "", form.getAttribute("action") + "?" + q);
    }
    function showResults() {
      var mk = document.getElementById("nearby-markers"), pt = document.getElementById("nearby-point");
      var markers = mk ? JSON.parse(mk.textContent) : null, point = pt ? JSON.parse(pt.textContent) : null;
      if (!map) return;
      if (point) map.setHere(point.lat, point.lng);
      map.setMarkers(markers || [], true);
    }
    function usePoint(a, b, msg) {
      lat.value = a.toFixed(6); lng.value = b.toFixed(6);
      if (place) place.value = "";
      if (msg) status.textContent = msg;
      submit();
    }
    function locate() {
      if (!navigator.geolocation) { status.textContent = T.denied; return; }
      status.textContent = T.asking;
      navigator.geolocation.getCurrentPosition(function (pos) {
        status.textContent = "";
        usePoint(pos.coords.latitude, pos.coords.longitude);
      }, function () {
        status.textContent = T.denied;
        if (place) place.focus();
      }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
    }

    if (place) place.addEventListener("change", function () { lat.value = ""; lng.value = ""; });
    // Without htmx (not loaded, old browser) a change reloads the page with the query.
    if (!window.htmx) form.addEventListener("change", function () { form.submit(); });
    if (map) map.onPick(function (a, b) { usePoint(a, b, T.picked); });
    if (btn) { btn.hidden = false; btn.addEventListener("click", locate); }
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.detail.target && e.detail.target.id === "results") { showResults(); syncUrl(); }
    });
    showResults();
    if (!lat.value && !(place && place.value)) locate();
  });
})();
