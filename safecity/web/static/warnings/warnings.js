/* Warnings maps: the public map of warnings in force, area maps on detail pages, and drawing a
   polygon by clicking points on the draft form. No tile server: county outlines give context. */
(function () {
  'use strict';
  var COLORS = { red: '#d32f2f', orange: '#ef6c00', yellow: '#f9a825', blue: '#1565c0' };
  var outlines = null;

  function backdrop(map, fit) {
    outlines = outlines || fetch('/api/v1/warnings/divisions').then(function (r) {
      return r.ok ? r.json() : null; }).catch(function () { return null; });
    return outlines.then(function (fc) {
      if (!fc) { return null; }
      var layer = L.geoJSON(fc, { interactive: false, style: { color: '#7d93b5', weight: 1,
        fillColor: '#ffffff', fillOpacity: 0.6 } }).addTo(map);
      layer.bringToBack();
      if (fit && layer.getBounds().isValid()) { map.fitBounds(layer.getBounds(), { padding: [8, 8] }); }
      return layer;
    });
  }

  function base(el) {
    var map = L.map(el, { attributionControl: false, zoomSnap: 0.25 });
    map.setView([37.45, 121.0], 8);
    return map;
  }

  function style(level) {
    var c = COLORS[level] || '#555';
    return { color: c, weight: 2, fillColor: c, fillOpacity: 0.3 };
  }

  function publicMap(el) {
    var map = base(el);
    window.safecityWarnings = { ready: false, features: 0 };
    backdrop(map, true).then(function () {
      return fetch(el.getAttribute('data-features'));
    }).then(function (r) { return r.json(); }).then(function (fc) {
      var layer = L.geoJSON(fc, {
        style: function (f) { return style(f.properties.level); },
        onEachFeature: function (f, l) {
          var div = document.createElement('div');
          var a = document.createElement('a');
          a.href = '/public/warnings/' + f.properties.id;
          a.textContent = f.properties.headline;
          div.appendChild(a);
          l.bindPopup(div);
        }
      }).addTo(map);
      if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds(), { padding: [24, 24], maxZoom: 13 }); }
      window.safecityWarnings = { ready: true, features: fc.features.length };
    }).catch(function (e) { window.safecityWarnings = { ready: true, error: String(e) }; });
  }

  function areaMap(el) {
    var map = base(el);
    var layer = L.geoJSON(JSON.parse(el.getAttribute('data-geometry')),
      { style: style(el.getAttribute('data-level')) }).addTo(map);
    if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds(), { padding: [16, 16], maxZoom: 14 }); }
    points(map, el);
    backdrop(map, false);
  }

  // The protected targets (filled circles, sized by occupancy) and enterprises (rings, dark red
  // when hazardous-chemical) the preview lists by name, each with its name on hover.
  function points(map, el) {
    var named = JSON.parse(el.getAttribute('data-points') || '{}');
    var drawn = 0;
    (named.targets || []).forEach(function (t) {
      if (t.lat == null || t.lon == null) { return; }
      L.circleMarker([t.lat, t.lon], { radius: 5 + Math.min(6, Math.sqrt(t.capacity || 0) / 6),
        color: '#fff', weight: 1.5, fillColor: '#6a1b9a', fillOpacity: 0.9, className: 'w-pt-target' })
        .bindTooltip(t.name + ' · ' + (t.capacity || 0)).addTo(map);
      drawn += 1;
    });
    (named.enterprises || []).forEach(function (e) {
      if (e.lat == null || e.lon == null) { return; }
      L.circleMarker([e.lat, e.lon], { radius: 5, color: e.hazchem ? '#8b0000' : '#37474f',
        weight: 2, fillOpacity: 0.2, className: 'w-pt-enterprise' }).bindTooltip(e.name).addTo(map);
      drawn += 1;
    });
    window.safecityWarningPoints = drawn;
  }

  function drawMap(el) {
    var input = document.getElementById('f-polygon');
    var map = base(el);
    backdrop(map, true);
    var points = [];
    try { points = JSON.parse(input.value || '[]') || []; } catch (e) { points = []; }
    var shape = L.polygon([], { color: '#d32f2f', weight: 2, fillOpacity: 0.2 }).addTo(map);
    var markers = L.layerGroup().addTo(map);
    function redraw() {
      shape.setLatLngs(points.map(function (p) { return [p[1], p[0]]; }));
      markers.clearLayers();
      points.forEach(function (p) { L.circleMarker([p[1], p[0]], { radius: 4, color: '#d32f2f' }).addTo(markers); });
      input.value = points.length ? JSON.stringify(points) : '';
    }
    map.on('click', function (ev) {
      points.push([Math.round(ev.latlng.lng * 1e6) / 1e6, Math.round(ev.latlng.lat * 1e6) / 1e6]);
      redraw();
    });
    document.getElementById('w-clear').addEventListener('click', function () { points = []; redraw(); });
    redraw();
    window.safecityDraw = { map: map, points: function () { return points.slice(); } };
  }

  var el = document.getElementById('w-public-map');
  if (el) { publicMap(el); }
  Array.prototype.forEach.call(document.querySelectorAll('.w-mini[data-geometry]'), areaMap);
  var draw = document.getElementById('w-draw-map');
  if (draw) { drawMap(draw); }
})();
