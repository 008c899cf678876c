/* Road network page: the active network's bounding box over the division outlines. */
(function () {
  'use strict';
  var el = document.getElementById('rs-roads-map'); if (!el) return;
  var cfg = JSON.parse(document.getElementById('rs-roads-config').textContent);
  var map = L.map(el, { preferCanvas: true }).setView([37.45, 121.2], 8);
  var box = null;
  if (cfg.bbox && cfg.bbox.length === 4) {
    var b = cfg.bbox;
    box = L.rectangle([[b[1], b[0]], [b[3], b[2]]], { color: '#1b5fc1', weight: 2, fillOpacity: 0.08, dashArray: '6 4' }).addTo(map);
    map.fitBounds(box.getBounds(), { padding: [16, 16] });
  }
  fetch('/api/v1/map/layers/divisions', { credentials: 'same-origin' }).then(function (r) { return r.json(); }).then(function (fc) {
    var layer = L.geoJSON(fc, { style: { color: '#5b7fa8', weight: 1, fillColor: '#e9eff6', fillOpacity: 0.5 }, interactive: false }).addTo(map);
    if (box) box.bringToFront(); else { try { map.fitBounds(layer.getBounds()); } catch (e) {} }
  }).catch(function () {});
})();
