/* The responder's phone pages (出警): fill the position fields from the phone's location
 * (manual entry stays as the fallback), keep the "way there" text and the map's
 * "you are here" marker current, show the time since the alarm, and tell the server
 * where the responder is (at most every 15 s). Every step also works without this file. */
(function () {
  "use strict";
  var en = (document.documentElement.lang || "").indexOf("en") === 0;
  var T = en ? {
    locating: "Finding your position…", located: "Position found (±{a} m)", failed: "No position: enter it by hand below",
    none: "This phone cannot share its position: enter it by hand below",
    way: "The place is {c} of you, {d} m in a straight line, about {m} min by e-bike.", here: "You are within {r} m: you can arrive.",
    since: "{t} since the alarm"
  } : {
    locating: "正在获取您的位置…", located: "已定位（精度约 {a} 米）", failed: "无法获取位置：请在下方手动输入",
    none: "此手机无法提供位置：请在下方手动输入",
    way: "目的地在您{c}方向，直线约 {d} 米，骑行约 {m} 分钟。", here: "您已在 {r} 米范围内，可以点击“到场”。",
    since: "报警已过 {t}"
  };
  var COMPASS = en ? ["north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west"]
    : ["北", "东北", "东", "东南", "南", "西南", "西", "西北"];
  function fmt(s, v) { return s.replace(/\{(\w)\}/g, function (_, k) { return v[k]; }); }
  function rad(x) { return x * Math.PI / 180; }
  function dist(a, b, c, d) {
    var p1 = rad(a), p2 = rad(c), dp = rad(c - a), dl = rad(d - b);
    var h = Math.sin(dp / 2) * Math.sin(dp / 2) + Math.cos(p1) * Math.cos(p2) * Math.sin(dl / 2) * Math.sin(dl / 2);
    return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
  }
  function bearing(a, b, c, d) {
    var p1 = rad(a), p2 = rad(c), dl = rad(d - b);
    var x = Math.sin(dl) * Math.cos(p2), y = Math.cos(p1) * Math.sin(p2) - Math.sin(p1) * Math.cos(p2) * Math.cos(dl);
    return (Math.atan2(x, y) * 180 / Math.PI + 360) % 360;
  }

  var forms = document.querySelectorAll("[data-position-form]");
  var way = document.querySelector("[data-way]");
  var map = null, cfgEl = document.getElementById("map-config");
  if (cfgEl && window.YZMap && document.getElementById("respond-map")) {
    var cfg = window.YZMap.config("map-config");
    map = window.YZMap.create("respond-map", cfg);
    if (map) map.setMarkers(cfg.markers || [], false);
  }

  function status(text) {
    forms.forEach(function (f) { var s = f.querySelector("[data-locate-status]"); if (s) s.textContent = text; });
  }
  function openManual() {
    forms.forEach(function (f) { var d = f.querySelector("[data-manual]"); if (d) d.open = true; });
  }
  var lastSent = 0;
  function tellServer(lat, lng) {
    var now = Date.now();
    if (now - lastSent < 15000 || !window.fetch) return;
    var tok = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (!tok) return;
    lastSent = now;
    fetch("/api/v1/safety/responders/me/position", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": tok.value },
      body: JSON.stringify({ lat: lat, lng: lng })
    }).catch(function () {});
  }
  function located(pos) {
    var lat = pos.coords.latitude, lng = pos.coords.longitude;
    forms.forEach(function (f) {
      var a = f.querySelector("[data-lat]"), b = f.querySelector("[data-lng]");
      // never overwrite what the responder typed by hand
      if (a && b && (a.value === "" || a.getAttribute("data-auto") === "1")) {
        a.value = lat.toFixed(6); b.value = lng.toFixed(6);
        a.setAttribute("data-auto", "1"); b.setAttribute("data-auto", "1");
      }
    });
    status(fmt(T.located, { a: Math.round(pos.coords.accuracy || 0) }));
    if (way) {
      var tl = +way.getAttribute("data-target-lat"), tg = +way.getAttribute("data-target-lng");
      var r = +way.getAttribute("data-radius"), d = dist(lat, lng, tl, tg);
      var c = COMPASS[Math.floor((bearing(lat, lng, tl, tg) + 22.5) / 45) % 8];
      var m = Math.max(1, Math.round(d * 1.3 / (15000 / 60)));
      var text = fmt(T.way, { c: c, d: Math.round(d), m: m });
      if (d <= r) text += " " + fmt(T.here, { r: r });
      var w = way.querySelector("[data-way-text]");
      if (w) w.textContent = text;
      if (map) {
        map.setHere(lat, lng);
        var p = map.toMap(tl, tg), q = map.toMap(lat, lng);
        map.map.fitBounds(window.L.latLngBounds([p, q]).pad(0.2), { maxZoom: 17 });
      }
    }
    tellServer(lat, lng);
  }
  if (forms.length) {
    if (navigator.geolocation) {
      status(T.locating);
      navigator.geolocation.watchPosition(located, function () { status(T.failed); openManual(); },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 10000 });
    } else {
      status(T.none); openManual();
    }
    document.querySelectorAll("[data-lat],[data-lng]").forEach(function (i) {
      i.addEventListener("input", function () {
        forms.forEach(function (f) { var x = f.querySelector("[data-lat]"); if (x) x.removeAttribute("data-auto"); });
        i.removeAttribute("data-auto");
      });
    });
  }

  // the list page: a new call (or one taken away) shows without a reload by hand
  var list = document.querySelector("[data-page='respond']");
  if (list && window.fetch) {
    var shown = Array.prototype.map.call(document.querySelectorAll("[data-assignment]"),
      function (el) { return el.getAttribute("data-assignment"); }).sort().join(",");
    setInterval(function () {
      if (document.hidden) return;
      fetch("/api/v1/safety/responders/me", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (me) {
          if (!me) return;
          var now = (me.assignments || []).map(function (a) { return String(a.id); }).sort().join(",");
          if (now !== shown) window.location.reload();
        }).catch(function () {});
    }, 10000);
  }

  var timer = document.querySelector("[data-started]");
  if (timer) {
    var started = Date.parse(timer.getAttribute("data-started"));
    var base = timer.textContent;
    var tick = function () {
      var s = Math.max(0, Math.floor((Date.now() - started) / 1000));
      var t = Math.floor(s / 60) + ":" + ("0" + (s % 60)).slice(-2);
      timer.textContent = base + " · " + fmt(T.since, { t: t });
    };
    if (!isNaN(started)) { tick(); setInterval(tick, 1000); }
  }
})();
