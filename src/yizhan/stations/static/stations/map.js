/* Yizhan station maps: a thin layer over Leaflet (vendored, no CDN).
 * Coordinates are WGS-84 everywhere; when the configured tile layer is a
 * Chinese one (GCJ-02), points are shifted for display only and clicks are
 * shifted back before they leave the map. Every map page (finder, station, coverage,
 * report and staff maps) goes through YZMap.create. When the tiles are off or cannot
 * load, the jurisdiction boundaries and names are drawn instead; a scale bar always. */
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

  var outlineCache = {};
  function fetchOutline(url) {
    if (!url || !window.fetch) return null;
    if (!outlineCache[url]) {
      outlineCache[url] = fetch(url, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); });
    }
    return outlineCache[url];
  }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }[c];
    });
  }
  var OUTLINE_STYLE = {
    district: { color: "#37474f", weight: 3, fill: false },
    street: { color: "#546e7a", weight: 2, dashArray: "6 4", fill: false },
    community: { color: "#90a4ae", weight: 1, fill: false }
  };
  // which names show at which zoom: [min, max]
  var LABEL_ZOOM = { district: [0, 13], street: [12, 15], community: [14, 30] };

  function YZMap(el, cfg) {
    this.cfg = cfg || {};
    var t = this.cfg.tiles || {};
    this.el = el;
    this.gcj = !!(t.url && t.gcj02);
    var c = this.cfg.center || [31.339, 120.424];
    this.map = L.map(el, { zoomControl: true, attributionControl: true })
      .setView(this.toMap(c[0], c[1]), this.cfg.zoom || 14);
    this.map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    L.control.scale({ imperial: false, maxWidth: 120 }).addTo(this.map);
    this.outline = null;
    this.tilesOk = false;
    if (t.url) {
      var self = this, failed = 0;
      this.tiles = L.tileLayer(t.url, {
        maxZoom: t.maxZoom || 19, subdomains: t.subdomains || "abc", attribution: t.attribution || ""
      }).addTo(this.map);
      this.tiles.on("tileload", function () {
        if (self.tilesOk) return;
        self.tilesOk = true;
        el.classList.remove("no-tiles");
        el.setAttribute("data-tiles", "ok");
        if (self.outline) { self.map.removeLayer(self.outline); self.outline = null; }
        if (self.labels) { self.map.removeLayer(self.labels); self.labels = null; }
        if (self.where) { self.where.remove(); self.where = null; }
      });
      this.tiles.on("tileerror", function () {
        failed += 1;
        if (!self.tilesOk && failed === 1) self.offline();
      });
      // a tile server that neither answers nor fails (a silent firewall)
      setTimeout(function () { if (!self.tilesOk) self.offline(); }, 8000);
    } else {
      this.offline();
    }
    this.markers = L.layerGroup().addTo(this.map);
    this.here = null;
  }
  /* No tiles (none configured, offline, blocked): draw the jurisdiction boundaries
   * and their names so the map still says where things are. */
  YZMap.prototype.offline = function () {
    if (this.outline || this.tilesOk || this._outlining) return;
    var self = this, el = this.el, url = (this.cfg.tiles || {}).outline;
    el.classList.add("no-tiles");
    el.setAttribute("data-tiles", "off");
    var p = fetchOutline(url);
    if (!p) return;
    this._outlining = true;
    p.then(function (data) {
      self._outlining = false;
      if (self.tilesOk || self.outline) return;
      var en = (document.documentElement.lang || "").indexOf("en") === 0;
      self.outline = L.geoJSON(data, {
        interactive: false,
        style: function (f) { return OUTLINE_STYLE[f.properties.level] || OUTLINE_STYLE.community; },
        coordsToLatLng: function (c) { var q = self.toMap(c[1], c[0]); return L.latLng(q[0], q[1]); }
      }).addTo(self.map);
      self.outline.bringToBack();
      var groups = {};
      (data.features || []).forEach(function (f) {
        var pr = f.properties || {}, at = pr.label;
        if (!at) return;
        var name = (en && pr.name_en) || pr.name;
        var g = groups[pr.level] || (groups[pr.level] = L.layerGroup());
        var q = self.toMap(at[0], at[1]);
        L.marker(q, {
          interactive: false, keyboard: false,
          icon: L.divIcon({ className: "yz-label yz-label-" + esc(pr.level), html: "<span>" + esc(name) + "</span>", iconSize: null })
        }).addTo(g);
      });
      self.labels = L.layerGroup().addTo(self.map);
      function showLabels() {
        if (!self.labels) return;
        var z = self.map.getZoom();
        Object.keys(groups).forEach(function (lv) {
          var r = LABEL_ZOOM[lv] || [14, 30], on = z >= r[0] && z <= r[1];
          if (on && !self.labels.hasLayer(groups[lv])) self.labels.addLayer(groups[lv]);
          if (!on && self.labels.hasLayer(groups[lv])) self.labels.removeLayer(groups[lv]);
        });
      }
      self.map.on("zoomend", showLabels);
      showLabels();
      self.whereAmI(data, en);
      el.setAttribute("data-outline", String((data.features || []).length));
    }).catch(function () { self._outlining = false; });
  };
  /* Zoomed in past every boundary and name, the outline alone says nothing: a small
   * box names the community, street and district under the map's centre. */
  function inRing(x, y, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if (((yi > y) !== (yj > y)) && (x < (xj - xi) * (y - yi) / (yj - yi) + xi)) inside = !inside;
    }
    return inside;
  }
  function inGeometry(lng, lat, g) {
    var polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    return polys.some(function (p) {
      return p.length && inRing(lng, lat, p[0]) && !p.slice(1).some(function (h) { return inRing(lng, lat, h); });
    });
  }
  var LEVEL_ORDER = { community: 0, street: 1, district: 2 };
  YZMap.prototype.whereAmI = function (data, en) {
    var self = this, feats = (data.features || []).filter(function (f) { return f.geometry; });
    var box = L.control({ position: "topright" });
    box.onAdd = function () {
      var d = L.DomUtil.create("div", "yz-where");
      d.setAttribute("aria-live", "polite");
      return d;
    };
    box.addTo(this.map);
    this.where = box;
    function update() {
      var c = self.map.getCenter(), w = self.fromMap(c.lat, c.lng);
      var names = feats.filter(function (f) { return inGeometry(w[1], w[0], f.geometry); })
        .sort(function (a, b) { return (LEVEL_ORDER[a.properties.level] || 0) - (LEVEL_ORDER[b.properties.level] || 0); })
        .map(function (f) { return (en && f.properties.name_en) || f.properties.name; });
      var node = box.getContainer();
      node.textContent = names.join(" · ");
      node.hidden = !names.length;
    }
    this.map.on("moveend", update);
    update();
  };
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
