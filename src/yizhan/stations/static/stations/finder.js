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
    // The last place the worker chose (a street/community or a point on the map), so a
    // refused or unavailable location still opens on stations that matter to them.
    var KEY = "yizhan.finder.place";
    function remember(v) { try { localStorage.setItem(KEY, JSON.stringify(v)); } catch (e) { /* private mode */ } }
    function recall() {
      try { var v = JSON.parse(localStorage.getItem(KEY) || "null"); return v && typeof v === "object" ? v : null; }
      catch (e) { return null; }
    }
    function hasPlace(code) {
      return !!(place && code && place.querySelector('option[value="' + String(code).replace(/["\\]/g, "") + '"]'));
    }
    // Location refused, unsupported or not answered: the last chosen place, else the
    // district's centre, with a notice; never an empty map and list.
    var fellBack = false;
    function fallback() {
      if (fellBack || lat.value || (place && place.value)) return;
      fellBack = true;
      var last = recall(), fb = cfg.fallback || {};
      if (last && hasPlace(last.place)) {
        place.value = last.place; lat.value = ""; lng.value = "";
        status.textContent = T.last;
        submit();
      } else if (last && isFinite(last.lat) && isFinite(last.lng) && last.lat !== null) {
        usePoint(+last.lat, +last.lng, T.last);
      } else if (isFinite(fb.lat) && isFinite(fb.lng) && fb.lat !== null) {
        usePoint(+fb.lat, +fb.lng, T.centre);
      } else {
        status.textContent = T.denied;
      }
    }
    function locate() {
      if (!navigator.geolocation) { fallback(); return; }
      status.textContent = T.asking;
      var waiting = setTimeout(fallback, 8000);  // the permission prompt left unanswered
      navigator.geolocation.getCurrentPosition(function (pos) {
        clearTimeout(waiting);
        status.textContent = "";
        fellBack = false;
        usePoint(pos.coords.latitude, pos.coords.longitude);
      }, function () {
        clearTimeout(waiting);
        fallback();
      }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
    }

    if (place) place.addEventListener("change", function () {
      lat.value = ""; lng.value = "";
      if (place.value) remember({ place: place.value });
    });
    // Without htmx (not loaded, old browser) a change reloads the page with the query.
    if (!window.htmx) form.addEventListener("change", function () { form.submit(); });
    if (map) map.onPick(function (a, b) { remember({ lat: a, lng: b }); usePoint(a, b, T.picked); });
    if (btn) { btn.hidden = false; btn.addEventListener("click", locate); }
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.detail.target && e.detail.target.id === "results") { showResults(); syncUrl(); }
    });
    showResults();
    if (!lat.value && !(place && place.value)) locate();
  });
})();
