/* The duty officer's wall (消防值守大屏): first state from #wall-state, then live over
 * server-sent events (/safety/wall/stream/: alarm, alarm_cleared, counts, responder,
 * assignment). No reload: every event is applied to the lists, the counts and the map.
 * The map folds devices into H3 cells (cells.json, by zoom); devices with an open alarm
 * and on-duty responders are drawn one by one. The beep plays after the officer's first
 * click or key press (browsers refuse sound before), and can be turned off. */
(function () {
  "use strict";
  var root, state, lang, lastId = "";
  var alarms = {}, dispatches = {}, responders = {};
  var es = null, retryTimer = null;
  var soundOn = true, unlocked = false, audio = null, beepTimer = null;
  var wmap = null, cellsLayer = null, alarmLayer = null, respLayer = null, cellsRes = 0, fitted = false;
  var ALARM_EVENTS = ["alarm", "alarm_cleared", "counts", "responder", "assignment"];
  var URGENT = { fire: 1, smoke: 1, gas: 1 };
  // a broker restart can bring thousands of offline alarms at once: the list shows the
  // first MAX_LIST by rank, the map pins at most MAX_PINS (offline devices are already in
  // the cells' offline count), and renders are batched
  var MAX_LIST = 200, MAX_PINS = 1000, renderTimer = null, freshIds = {}, lastBeep = 0, openCount = 0, truncated = false;

  function t(key) { return root.getAttribute("data-t-" + key) || key; }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text != null) n.textContent = text;
    return n;
  }
  function ms(iso) { return iso ? Date.parse(iso) : NaN; }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(iso) {
    var d = new Date(ms(iso));
    return isNaN(d) ? "" : pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  function span(msLen) {
    if (isNaN(msLen)) return "–";
    var s = Math.max(0, Math.floor(msLen / 1000)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + pad(m) : m) + ":" + pad(s % 60);
  }
  function message(body) {
    var m = body && body.message;
    return m ? (lang === "en" ? m.en : m.zh) : t("failed");
  }
  function showMsg(text) {
    var box = document.getElementById("wall-msg");
    box.textContent = text;
    box.hidden = !text;
    if (text) setTimeout(function () { if (box.textContent === text) box.hidden = true; }, 8000);
  }

  // ---- alarms ------------------------------------------------------------------------
  function sortedAlarms() {
    return Object.keys(alarms).map(function (k) { return alarms[k]; }).sort(function (a, b) {
      return (a.rank - b.rank) || (ms(b.started_at) - ms(a.started_at)) || (b.id - a.id);
    });
  }
  function alarmItem(a) {
    var li = el("li", "alarm k-" + a.kind + " s-" + a.state);
    li.setAttribute("data-id", a.id);
    li.tabIndex = 0;
    var top = el("div", "a-top");
    top.appendChild(el("span", "a-kind", a.kind_label));
    top.appendChild(document.createTextNode(" "));
    top.appendChild(el("span", "a-sev", a.severity_label));
    top.appendChild(document.createTextNode(" "));
    top.appendChild(el("span", "a-state", a.state_label));
    if (a.trigger_count > 1) top.appendChild(el("span", "a-sev", t("times").replace("{n}", a.trigger_count)));
    li.appendChild(top);
    li.appendChild(el("div", "a-place", a.place.name + (a.location ? " · " + a.location : "")));
    li.appendChild(el("div", "a-meta", a.place.address + " · " + a.device + " · " + clock(a.started_at) +
      " (" + span(Date.now() - ms(a.started_at)) + ")"));
    var acts = el("div", "a-acts");
    if (a.state === "active") {
      var ack = el("button", "btn ack", t("ack"));
      ack.type = "button";
      ack.setAttribute("data-act", "acknowledge");
      ack.setAttribute("aria-label", t("ack") + " " + a.kind_label + " " + a.place.name);
      acts.appendChild(ack);
    }
    var clr = el("button", "btn clear", t("clear"));
    clr.type = "button";
    clr.setAttribute("data-act", "clear");
    clr.setAttribute("aria-label", t("clear") + " " + a.kind_label + " " + a.place.name);
    acts.appendChild(clr);
    li.appendChild(acts);
    return li;
  }
  function scheduleRender(freshId) {
    if (freshId) freshIds[freshId] = 1;
    if (!renderTimer) renderTimer = setTimeout(function () { renderTimer = null; renderAlarms(); }, 60);
  }
  function renderAlarms() {
    var list = document.getElementById("alarm-list"), all = sortedAlarms(), items = all.slice(0, MAX_LIST);
    var fresh = freshIds;
    freshIds = {};
    var ae = document.activeElement, focusLi = ae && list.contains(ae) ? ae.closest(".alarm") : null;
    var focusId = focusLi ? focusLi.getAttribute("data-id") : null;
    var focusAct = focusId && ae.getAttribute("data-act");
    list.textContent = "";
    if (!items.length) list.appendChild(el("li", "empty", t("none")));
    items.forEach(function (a) {
      var li = alarmItem(a);
      if (fresh[a.id]) li.classList.add("fresh");
      list.appendChild(li);
    });
    // the page starts with the first 200 open alarms; past that only the counts know them all
    var total = all.length >= MAX_LIST || truncated ? Math.max(all.length, openCount) : all.length;
    if (total > items.length) list.appendChild(el("li", "empty more", t("more").replace("{n}", total - items.length)));
    document.getElementById("alarms-n").textContent = total;
    if (focusId) {
      var again = list.querySelector('.alarm[data-id="' + focusId + '"]');
      var target = again && (focusAct && again.querySelector('[data-act="' + focusAct + '"]') || again);
      if (target) target.focus();
    }
    drawAlarmPins(all);
    beepLoop(all);
  }
  function applyAlarm(a) {
    var isNew = !alarms[a.id];
    if (!a.open) { delete alarms[a.id]; scheduleRender(); return; }
    alarms[a.id] = a;
    scheduleRender(isNew ? a.id : null);
    if (isNew && a.state === "active" && a.kind !== "offline") beep();
  }
  function removeAlarm(d) {
    if (alarms[d.id]) { delete alarms[d.id]; scheduleRender(); }
  }
  function act(id, action, button) {
    if (button) button.disabled = true;
    var csrf = root.getAttribute("data-csrf");
    fetch(state.urls.api + id + "/" + action, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: "{}"
    }).then(function (r) {
      return r.json().then(function (body) { return { ok: r.ok, body: body }; });
    }).then(function (res) {
      if (!res.ok) { showMsg(message(res.body)); if (button) button.disabled = false; return; }
      showMsg("");
      applyAlarm(res.body);
    }).catch(function () { showMsg(t("failed")); if (button) button.disabled = false; });
  }

  // ---- counts, dispatches, responders --------------------------------------------------
  function applyCounts(c) {
    if (c.active_alarms != null && c.active_alarms !== openCount) { openCount = c.active_alarms; scheduleRender(); }
    Object.keys(c).forEach(function (k) {
      var n = document.getElementById("count-" + k);
      if (n) n.textContent = c[k];
    });
  }
  function timer(label, fromIso, toIso) {
    var s = el("span", "timer");
    s.appendChild(document.createTextNode(label + " "));
    var b = el("b", null, "");
    if (fromIso) b.setAttribute("data-from", fromIso);
    if (toIso) b.setAttribute("data-to", toIso);
    s.appendChild(b);
    return s;
  }
  function mark(label, fromIso, atIso) {
    var s = el("span", atIso ? "on" : "", label + (atIso ? " +" + span(ms(atIso) - ms(fromIso)) : " –"));
    return s;
  }
  function renderDispatches() {
    var list = document.getElementById("dispatch-list");
    var items = Object.keys(dispatches).map(function (k) { return dispatches[k]; })
      .filter(function (d) { return d.open; })
      .sort(function (a, b) { return ms(b.started_at) - ms(a.started_at); });
    list.textContent = "";
    if (!items.length) list.appendChild(el("li", "empty", t("no-dispatch")));
    items.forEach(function (d) {
      var li = el("li", "dispatch");
      li.setAttribute("data-id", d.id);
      var a = alarms[d.alarm];
      li.appendChild(el("div", "d-head", (a ? a.kind_label + " · " : "") + d.place + " · " + d.state_label +
        (d.wave > 1 ? " · " + t("wave").replace("{n}", d.wave) : "")));
      var timers = el("div", "timers");
      timers.appendChild(timer(t("since"), d.started_at, d.first_arrived_at));
      timers.appendChild(timer(t("notified"), d.notified_at, d.first_arrived_at));
      li.appendChild(timers);
      var ul = el("ul");
      (d.assignments || []).forEach(function (s) {
        var row = el("li", "s-" + s.state);
        row.appendChild(el("div", null, s.responder.name + " · " + s.state_label));
        var marks = el("div", "marks");
        [["acked", s.acknowledged_at], ["enroute", s.en_route_at], ["arrived", s.arrived_at]].forEach(function (m) {
          marks.appendChild(mark(t(m[0]), s.notified_at, m[1]));
          marks.appendChild(document.createTextNode(" "));
        });
        row.appendChild(marks);
        ul.appendChild(row);
      });
      li.appendChild(ul);
      list.appendChild(li);
    });
    tick();
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("#dispatch-list b[data-from]").forEach(function (b) {
      var to = b.getAttribute("data-to");
      b.textContent = span((to ? ms(to) : now) - ms(b.getAttribute("data-from")));
    });
  }
  function renderResponders() {
    var list = document.getElementById("responder-list");
    var items = Object.keys(responders).map(function (k) { return responders[k]; })
      .filter(function (r) { return r.on_duty; });
    list.textContent = "";
    if (!items.length) list.appendChild(el("li", "empty", t("no-responder")));
    items.forEach(function (r) {
      var li = el("li", null, r.name + " · " + r.kind_label + (r.station ? " · " + r.station : ""));
      li.setAttribute("data-id", r.id);
      list.appendChild(li);
    });
    drawResponders();
  }
  function applyResponder(r) { responders[r.id] = r; renderResponders(); }
  function applyDispatch(d) { dispatches[d.id] = d; renderDispatches(); }

  // ---- sound -----------------------------------------------------------------------------
  function soundLabel() {
    var b = document.getElementById("sound-toggle");
    b.setAttribute("aria-pressed", soundOn ? "true" : "false");
    b.textContent = !soundOn ? t("sound-off") : unlocked ? t("sound-on") : t("sound-wait");
  }
  function gesture(e) {
    if (e && e.target && e.target.closest && e.target.closest("#sound-toggle")) return;  // its click decides
    unlock();
  }
  function unlock() {
    if (unlocked) return;
    unlocked = true;
    document.removeEventListener("pointerdown", gesture);
    document.removeEventListener("keydown", gesture);
    audio = new Audio(state.urls.sound);
    audio.preload = "auto";
    audio.volume = 0;
    var p = audio.play();
    var done = function () { audio.pause(); audio.currentTime = 0; audio.volume = 1; beepLoop(); };
    if (p && p.then) p.then(done, function () { audio.volume = 1; }); else done();
    soundLabel();
  }
  function beep() {
    if (!soundOn || !unlocked || !audio || Date.now() - lastBeep < 2000) return;
    lastBeep = Date.now();
    try { audio.currentTime = 0; var p = audio.play(); if (p && p.catch) p.catch(function () {}); } catch (e) { /* no sound */ }
  }
  // while an urgent alarm waits for acknowledgement, beep again every 8 s
  function beepLoop(all) {
    var waiting = (all || sortedAlarms()).some(function (a) { return a.state === "active" && URGENT[a.kind]; });
    if (waiting && !beepTimer) beepTimer = setInterval(beep, 8000);
    if (!waiting && beepTimer) { clearInterval(beepTimer); beepTimer = null; }
  }

  // ---- map -------------------------------------------------------------------------------
  function resForZoom(z) { return z <= 12 ? 7 : z <= 14 ? 8 : z === 15 ? 9 : 10; }
  function cellText(c) {
    return c.total + " " + t("devices") + " · " + t("online") + " " + c.online + " · " + t("offline") + " " +
      c.offline + (c.alarm ? " · " + t("alarm") + " " + c.alarm : "") + (c["new"] ? " · " + t("new") + " " + c["new"] : "");
  }
  function loadCells(force) {
    if (!wmap || !window.fetch) return;
    var res = resForZoom(wmap.map.getZoom());
    if (!force && res === cellsRes) return;
    cellsRes = res;
    fetch(state.urls.cells + "?res=" + res, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        if (res !== cellsRes) return;
        cellsLayer.clearLayers();
        var pts = [];
        (data.items || []).forEach(function (c) {
          var p = wmap.toMap(c.lat, c.lng), bad = c.offline / Math.max(1, c.total);
          pts.push(p);
          var colour = c.alarm ? "#ff1744" : bad > 0.5 ? "#78909c" : bad > 0.1 ? "#fb8c00" :
            c.online * 2 >= c.total ? "#43a047" : "#eceff1";  // mostly never seen yet: pale
          L.circleMarker(p, {
            radius: Math.min(26, 5 + Math.sqrt(c.total) * 1.2), color: "#fff", weight: 1,
            fillColor: colour, fillOpacity: 0.75
          }).bindTooltip(cellText(c)).addTo(cellsLayer);
        });
        document.getElementById("wall-map").setAttribute("data-cells", String(pts.length));
        if (!fitted && pts.length) { fitted = true; wmap.map.fitBounds(L.latLngBounds(pts).pad(0.1), { maxZoom: 16 }); }
      }).catch(function () { cellsRes = 0; });
  }
  function drawAlarmPins(all) {
    if (!wmap) return;
    alarmLayer.clearLayers();
    (all || sortedAlarms()).filter(function (a) { return a.kind !== "offline"; }).slice(0, MAX_PINS).forEach(function (a) {
      var icon = L.divIcon({ className: "yz-alarm-pin", iconSize: [16, 16], iconAnchor: [8, 8] });
      L.marker(wmap.toMap(a.place.lat, a.place.lng), { icon: icon, zIndexOffset: 1000, keyboard: false, title: a.kind_label })
        .bindTooltip(a.kind_label + " · " + a.place.name).addTo(alarmLayer);
    });
  }
  function drawResponders() {
    if (!wmap) return;
    respLayer.clearLayers();
    Object.keys(responders).forEach(function (k) {
      var r = responders[k];
      if (!r.on_duty || r.lat == null) return;
      var icon = L.divIcon({ className: "yz-responder-pin", iconSize: [14, 14], iconAnchor: [7, 7] });
      L.marker(wmap.toMap(r.lat, r.lng), { icon: icon, zIndexOffset: 500, keyboard: false, title: r.name })
        .bindTooltip(r.name).addTo(respLayer);
    });
  }
  function setupMap() {
    if (!window.YZMap || typeof L === "undefined") return;
    wmap = window.YZMap.create("wall-map", window.YZMap.config("map-config"));
    if (!wmap) return;
    cellsLayer = L.layerGroup().addTo(wmap.map);
    alarmLayer = L.layerGroup().addTo(wmap.map);
    respLayer = L.layerGroup().addTo(wmap.map);
    var cfg = window.YZMap.config("map-config"), b = cfg.bounds;
    if (b) {
      fitted = true;
      var sw = wmap.toMap(b[0][0], b[0][1]), ne = wmap.toMap(b[1][0], b[1][1]);
      wmap.map.fitBounds(L.latLngBounds([sw, ne]).pad(0.05), { maxZoom: 17 });
    }
    wmap.map.on("zoomend", function () { loadCells(false); });
    loadCells(true);
    setInterval(function () { loadCells(true); }, 60000);
  }
  function focusAlarmOnMap(id) {
    var a = alarms[id];
    if (wmap && a) wmap.map.setView(wmap.toMap(a.place.lat, a.place.lng), Math.max(wmap.map.getZoom(), 16));
  }

  // ---- the stream ------------------------------------------------------------------------
  function setLive(ok) {
    var n = document.getElementById("live");
    n.textContent = ok ? t("live") : t("reconnecting");
    n.className = "live " + (ok ? "ok" : "down");
    root.setAttribute("data-live", ok ? "1" : "0");
  }
  var HANDLERS = {
    alarm: applyAlarm, alarm_cleared: removeAlarm, counts: applyCounts,
    responder: applyResponder, assignment: applyDispatch
  };
  function connect() {
    if (!window.EventSource) return;
    retryTimer = null;
    es = new EventSource(state.urls.stream + "?since=" + encodeURIComponent(lastId));
    es.onopen = function () { setLive(true); };
    es.onerror = function () {
      setLive(false);
      // refused (not 200) or the network gone: the browser stops; try again ourselves
      if (es.readyState === 2 && !retryTimer) { es.close(); retryTimer = setTimeout(connect, 5000); }
    };
    ALARM_EVENTS.forEach(function (name) {
      es.addEventListener(name, function (e) {
        if (e.lastEventId) lastId = e.lastEventId;
        var data;
        try { data = JSON.parse(e.data); } catch (err) { return; }
        HANDLERS[name](data);
        root.setAttribute("data-last-event", name);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = document.getElementById("wall");
    var s = document.getElementById("wall-state");
    if (!root || !s) return;
    state = JSON.parse(s.textContent);
    lang = state.lang;
    lastId = state.cursor;
    state.alarms.forEach(function (a) { alarms[a.id] = a; });
    truncated = state.alarms.length >= MAX_LIST;
    state.dispatches.forEach(function (d) { dispatches[d.id] = d; });
    state.responders.forEach(function (r) { responders[r.id] = r; });
    setupMap();
    renderAlarms();
    renderDispatches();
    renderResponders();
    applyCounts(state.counts);
    soundLabel();
    document.getElementById("alarm-list").addEventListener("click", function (e) {
      var b = e.target.closest("button[data-act]"), li = e.target.closest(".alarm");
      if (!li) return;
      var id = +li.getAttribute("data-id");
      if (b) act(id, b.getAttribute("data-act"), b); else focusAlarmOnMap(id);
    });
    document.getElementById("alarm-list").addEventListener("keydown", function (e) {
      var li = e.target.classList && e.target.classList.contains("alarm") ? e.target : null;
      if (li && e.key === "Enter") focusAlarmOnMap(+li.getAttribute("data-id"));
    });
    document.getElementById("sound-toggle").addEventListener("click", function () {
      if (!unlocked) { unlock(); return; }
      soundOn = !soundOn;
      soundLabel();
    });
    document.addEventListener("pointerdown", gesture);
    document.addEventListener("keydown", gesture);
    setInterval(function () { tick(); }, 1000);
    // the alarm ages ("3:12") in the list move every 30 s
    setInterval(function () { renderAlarms(); }, 30000);
    connect();
  });
})();
