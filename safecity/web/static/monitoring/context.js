// Alarm in context: the alarm on a map with what lies around it, each marker clickable.
(function () {
  const el = document.getElementById('context-data');
  if (!el || !window.L) return;
  const data = JSON.parse(el.textContent);
  const a = data.alarm;
  const colours = { red: '#d7191c', orange: '#f17c0e', yellow: '#e6c200', blue: '#2b83ba' };
  const kindColour = { protected_target: '#7b3294', major_hazard: '#b2182b', enterprise: '#1b5fc1',
                       grid_cell: '#2d8a4e' };
  const map = L.map('context-map').setView([a.lat, a.lon], 14);
  fetch('/api/v1/map/layers/divisions', { credentials: 'same-origin' })
    .then((r) => (r.ok ? r.json() : null))
    .then((fc) => { if (fc) L.geoJSON(fc, { interactive: false, pointToLayer: () => L.layerGroup(),
      style: { color: '#7d93b5', weight: 1, fillOpacity: 0.05 } }).addTo(map).bringToBack(); })
    .catch(() => {});
  const ring = L.circle([a.lat, a.lon], { radius: data.radius_m, color: '#555', weight: 1,
                                          dashArray: '4 4', fill: false, interactive: false }).addTo(map);
  const markers = {};
  data.nearby.forEach((n) => {
    const m = L.circleMarker([n.lat, n.lon], { radius: 8, weight: 2, color: '#fff',
      fillColor: kindColour[n.kind] || '#333', fillOpacity: 0.95 }).addTo(map);
    const kind = data.kinds[n.kind] ? data.kinds[n.kind][data.en ? 1 : 0] : n.kind;
    const box = document.createElement('div');
    const link = document.createElement('a'); link.href = n.href; link.textContent = n.name;
    box.append(kind + ' · ', link, ' · ' + n.distance_m.toLocaleString() + (data.en ? ' m' : ' 米'));
    m.bindPopup(box);
    m.bindTooltip(n.name);
    markers[n.kind + ':' + n.id] = m;
  });
  // The alarm itself on top, larger and in its level's colour.
  const me = L.circleMarker([a.lat, a.lon], { radius: 12, weight: 3, color: '#222',
    fillColor: colours[a.level] || '#888', fillOpacity: 1 }).addTo(map);
  me.bindPopup(a.message); me.bindTooltip(a.message);
  map.fitBounds(ring.getBounds(), { padding: [6, 6] });
  // A row of the nearby list opens its marker.
  document.querySelectorAll('#nearby tbody tr[data-kind]').forEach((row) => {
    row.addEventListener('click', (e) => {
      if (e.target.closest('a')) return;
      const m = markers[row.dataset.kind + ':' + row.dataset.id];
      if (m) { map.panTo(m.getLatLng()); m.openPopup(); }
    });
  });
  window.safecityContextMap = map;
  window.safecityContextMarkers = markers;
})();
