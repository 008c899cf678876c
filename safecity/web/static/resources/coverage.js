/* Coverage page: the uncovered grid cells over the division outlines. */
(function () {
  var src = document.getElementById('rs-uncovered'); if (!src) return;
  var cells = JSON.parse(src.textContent);
  var map = L.map('rs-covmap', { preferCanvas: true }).setView([37.45, 121.2], 9);
  fetch('/api/v1/map/layers/divisions', { credentials: 'same-origin' }).then(function (r) { return r.json(); }).then(function (fc) {
    var layer = L.geoJSON(fc, { style: { color: '#5b7fa8', weight: 1, fillColor: '#e9eff6', fillOpacity: 0.5 }, interactive: false }).addTo(map);
    try { map.fitBounds(layer.getBounds()); } catch (e) {}
  });
  cells.forEach(function (c) {
    L.circleMarker([c.lat, c.lon], { radius: 3 + Math.min(6, Math.sqrt(c.population) / 20), color: '#c62828', weight: 1, fillOpacity: 0.6 })
      .addTo(map).bindTooltip(c.name + '：' + c.population);
  });
})();
