/* Small maps on detail and edit pages: show an object's geometry, or pick a location by clicking.
   County outlines (scoped by the server) give context since there is no tile server. */
(function () {
  'use strict';
  var nodes = document.querySelectorAll('.minimap');
  if (!nodes.length) { return; }
  // A page anyone may open (the public hidden-danger report) names a public outline layer.
  var outline = nodes[0].getAttribute('data-outline') || '/api/v1/map/layers/divisions';
  var backdrop = fetch(outline, { credentials: 'same-origin' })
    .then(function (r) { return r.ok ? r.json() : null; })
    .catch(function () { return null; });
  var STYLE = { color: '#1b5fc1', weight: 3, fillColor: '#1b5fc1', fillOpacity: 0.25 };
  var POINT = { radius: 8, color: '#fff', weight: 2, fillColor: '#d32f2f', fillOpacity: 1 };

  function base(el) {
    var map = L.map(el, { attributionControl: false, preferCanvas: true, zoomSnap: 0.25 });
    map.setView([37.45, 120.9], 8);
    var context = L.layerGroup().addTo(map);
    backdrop.then(function (fc) {
      if (!fc) { return; }
      L.geoJSON(fc, { style: { color: '#7d93b5', weight: 1, fillColor: '#ffffff', fillOpacity: 0.5 },
        interactive: false, pointToLayer: function () { return L.layerGroup(); } }).addTo(context);
      context.eachLayer(function (l) { l.bringToBack(); });
      if (el._fitToContext) { fit(map, context); }
    });
    return map;
  }

  function fit(map, layer) {
    var bounds = L.featureGroup(layer.getLayers ? layer.getLayers() : [layer]).getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [16, 16], maxZoom: 15 }); }
  }

  function showGeometry(el) {
    var map = base(el);
    var geometry = JSON.parse(el.getAttribute('data-geometry'));
    var layer = L.geoJSON(geometry, { style: function () { return STYLE; }, pointToLayer: function (f, ll) {
      return L.circleMarker(ll, POINT);
    } }).addTo(map);
    if (geometry.type === 'Point') { layer.setStyle(POINT); }
    if (geometry.type === 'Point') {
      map.setView([geometry.coordinates[1], geometry.coordinates[0]], 13);
    } else { fit(map, layer); }
  }

  function picker(el) {
    var lon = document.querySelector(el.getAttribute('data-lon'));
    var lat = document.querySelector(el.getAttribute('data-lat'));
    var map = base(el);
    var marker = L.circleMarker([0, 0], POINT);
    function fromInputs(move) {
      var x = parseFloat(lon.value), y = parseFloat(lat.value);
      if (isNaN(x) || isNaN(y)) { map.removeLayer(marker); return false; }
      marker.setLatLng([y, x]).addTo(map);
      if (move) { map.setView([y, x], Math.max(map.getZoom(), 12)); }
      return true;
    }
    if (!fromInputs(true)) { el._fitToContext = true; }
    map.on('click', function (e) {
      lon.value = e.latlng.lng.toFixed(6);
      lat.value = e.latlng.lat.toFixed(6);
      fromInputs(false);
    });
    [lon, lat].forEach(function (input) { input.addEventListener('change', function () { fromInputs(true); }); });
  }

  nodes.forEach(function (el) {
    if (el.hasAttribute('data-geometry')) { showGeometry(el); } else { picker(el); }
  });
}());
