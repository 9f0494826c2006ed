/* Yizhan station maps: a thin layer over Leaflet (vendored, no CDN).
 * Coordinates are WGS-84 everywhere; when the configured tile layer is a
 * Chinese one (GCJ-02), points are shifted for display only and clicks are
 * shifted back before they leave the map. Works with no tiles at all. */
(function () {
  "use strict";
  var A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;
  function outOfChina(lat, lng) { return !(lng >= 72.004 && lng <= 137.8347 && lat >= 0.8293 && lat <= 55.8271); }
  function tLat(x, y) {
    var r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
    r += (20 * Math.sin(y * PI) + 40 * Math.sin(y / 3 * PI)) * 2 / 3;
    r += (160 * Math.sin(y / 12 * PI) + 320 * Math.sin(y * PI / 30)) * 2 / 3;
    return r;
  }
  function tLng(x, y) {
    var r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    r += (20 * Math.sin(6 * x * PI) + 20 * Math.sin(2 * x * PI)) * 2 / 3;
    r += (20 * Math.sin(x * PI) + 40 * Math.sin(x / 3 * PI)) * 2 / 3;
    r += (150 * Math.sin(x / 12 * PI) + 300 * Math.sin(x / 30 * PI)) * 2 / 3;
    return r;
  }
  function wgsToGcj(lat, lng) {
    if (outOfChina(lat, lng)) return [lat, lng];
    var dLat = tLat(lng - 105, lat - 35), dLng = tLng(lng - 105, lat - 35);
    var rad = lat / 180 * PI, m = 1 - EE * Math.sin(rad) * Math.sin(rad), sm = Math.sqrt(m);
    dLat = (dLat * 180) / ((A * (1 - EE)) / (m * sm) * PI);
    dLng = (dLng * 180) / (A / sm * Math.cos(rad) * PI);
    return [lat + dLat, lng + dLng];
  }
  function gcjToWgs(lat, lng) {
    var w = [lat, lng];
    for (var i = 0; i < 8; i++) { var g = wgsToGcj(w[0], w[1]); w[0] += lat - g[0]; w[1] += lng - g[1]; }
    return w;
  }

  function YZMap(el, cfg) {
    this.cfg = cfg || {};
    var t = this.cfg.tiles || {};
    this.gcj = !!(t.url && t.gcj02);
    var c = this.cfg.center || [31.339, 120.424];
    this.map = L.map(el, { zoomControl: true, attributionControl: !!t.attribution })
      .setView(this.toMap(c[0], c[1]), this.cfg.zoom || 14);
    if (t.url) { L.tileLayer(t.url, { maxZoom: 19, attribution: t.attribution || "" }).addTo(this.map); }
    else { el.classList.add("no-tiles"); }
    this.markers = L.layerGroup().addTo(this.map);
    this.here = null;
  }
  YZMap.prototype.toMap = function (lat, lng) { return this.gcj ? wgsToGcj(lat, lng) : [lat, lng]; };
  YZMap.prototype.fromMap = function (lat, lng) { return this.gcj ? gcjToWgs(lat, lng) : [lat, lng]; };
  YZMap.prototype.setMarkers = function (list, fit) {
    var self = this, pts = [];
    this.markers.clearLayers();
    (list || []).forEach(function (m, i) {
      var p = self.toMap(m.lat, m.lng); pts.push(p);
      var icon = L.divIcon({ className: "yz-pin" + (m.open ? " open" : ""), html: "<span>" + (i + 1) + "</span>", iconSize: [26, 26], iconAnchor: [13, 13] });
      var mk = L.marker(p, { icon: icon, title: m.name, keyboard: true, alt: m.name }).addTo(self.markers);
      if (m.url) { var a = document.createElement("a"); a.href = m.url; a.textContent = m.name; mk.bindPopup(a); }
    });
    if (this.here) pts.push(this.here.getLatLng());
    if (fit && pts.length > 1) this.map.fitBounds(L.latLngBounds(pts).pad(0.15), { maxZoom: 16 });
    else if (fit && pts.length === 1) this.map.setView(pts[0], 15);
  };
  YZMap.prototype.setHere = function (lat, lng) {
    var p = this.toMap(lat, lng);
    if (!this.here) {
      var icon = L.divIcon({ className: "yz-here", iconSize: [20, 20], iconAnchor: [10, 10] });
      this.here = L.marker(p, { icon: icon, zIndexOffset: 1000, keyboard: false, interactive: false }).addTo(this.map);
    } else this.here.setLatLng(p);
  };
  YZMap.prototype.onPick = function (cb) {
    var self = this;
    this.map.on("click", function (e) { var w = self.fromMap(e.latlng.lat, e.latlng.lng); cb(w[0], w[1]); });
  };
  YZMap.prototype.addGeoJSON = function (data, style) {
    if (!data) return null;
    var self = this;
    var layer = L.geoJSON(data, { style: style, coordsToLatLng: function (c) { var p = self.toMap(c[1], c[0]); return L.latLng(p[0], p[1]); } });
    layer.addTo(this.map);
    return layer;
  };

  window.YZMap = {
    create: function (id, cfg) {
      var el = document.getElementById(id);
      if (!el || typeof L === "undefined") { if (el) el.classList.add("no-map"); return null; }
      try { return new YZMap(el, cfg); } catch (e) { el.classList.add("no-map"); return null; }
    },
    config: function (id) { var s = document.getElementById(id || "map-config"); return s ? JSON.parse(s.textContent) : {}; },
    wgsToGcj: wgsToGcj, gcjToWgs: gcjToWgs
  };

  // Pages that only show a map (detail, keeper, coverage, edit) need no script of their own.
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.querySelector("[data-yz-map]");
    if (!el) return;
    var cfg = window.YZMap.config(el.getAttribute("data-yz-map"));
    var m = window.YZMap.create(el.id, cfg);
    if (!m) return;
    m.setMarkers(cfg.markers || [], false);
    var fitTo = null;
    if (cfg.boundary) fitTo = m.addGeoJSON(cfg.boundary, { color: "#455a64", weight: 2, fill: false });
    if (cfg.uncovered) {
      var lay = m.addGeoJSON(cfg.uncovered, { color: "#c62828", weight: 1, fillOpacity: 0.35 });
      fitTo = fitTo || lay;
    }
    if (cfg.fit && fitTo && fitTo.getBounds().isValid()) m.map.fitBounds(fitTo.getBounds());
    if (cfg.pick) {
      var lat = document.getElementById("id_lat"), lng = document.getElementById("id_lng");
      if (lat && lng && lat.value && lng.value) m.setHere(+lat.value, +lng.value);
      m.onPick(function (a, b) {
        if (lat && lng) { lat.value = a.toFixed(6); lng.value = b.toFixed(6); m.setHere(a, b); }
      });
    }
  });
})();
