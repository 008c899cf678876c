// Command map layers on top of the context map (monitoring/context.js draws the points):
// sensors coloured by state, open alarms by level, warnings in force as their areas, and
// dispatched units where their tracker last reported.
(function () {
  const el = document.getElementById('command-layers');
  const map = window.safecityContextMap;
  const markers = window.safecityContextMarkers || {};
  if (!el || !map || !window.L) return;
  const data = JSON.parse(el.textContent);
  const level = { red: '#d7191c', orange: '#f17c0e', yellow: '#e6c200', blue: '#2b83ba' };
  const state = { alarm: '#d7191c', offline: '#9e9e9e', no_data: '#bdbdbd', maintenance: '#8d6e63',
                  disabled: '#616161', normal: '#00897b' };
  (data.points || []).forEach((n) => {
    const m = markers[n.kind + ':' + n.id];
    if (!m) return;
    if (n.kind === 'alarm') {
      m.setStyle({ fillColor: level[n.detail.level] || '#888', color: '#222', radius: 9 });
      m.bringToFront();
    } else if (n.kind === 'sensor') {
      m.setStyle({ fillColor: state[n.detail.state] || '#00897b', radius: 6 });
    }
  });
  (data.warnings || []).forEach((w) => {
    if (!w.geometry) return;
    const colour = level[w.detail.level] || '#888';
    const area = L.geoJSON(w.geometry, { style: { color: colour, weight: 2, dashArray: '6 4',
      fillColor: colour, fillOpacity: 0.08 } }).addTo(map);
    const box = document.createElement('div');
    const link = document.createElement('a'); link.href = w.href; link.textContent = w.name;
    box.append(link);
    area.bindPopup(box);
    area.bringToBack();
    markers['warning:' + w.id] = area;
  });
  (data.units || []).forEach((u) => {
    const m = L.marker([u.lat, u.lon], { title: u.name, icon: L.divIcon({ className: 'rs-unit',
      html: '<span>' + (u.mark || '车') + '</span>', iconSize: [28, 28] }) }).addTo(map);
    m.bindPopup(u.name + ' · ' + u.age);
    m.bindTooltip(u.name + ' · ' + u.age);
    markers['unit:' + u.id] = m;
  });
  // a unit on its way from outside the ring stays in view
  if ((data.units || []).length) {
    const bounds = map.getBounds();
    data.units.forEach((u) => bounds.extend([u.lat, u.lon]));
    map.fitBounds(bounds, { padding: [12, 12] });
  }
  document.querySelectorAll('#nearby tbody tr[data-kind="warning"]').forEach((row) => {
    row.addEventListener('click', (e) => {
      if (e.target.closest('a')) return;
      const a = markers['warning:' + row.dataset.id];
      if (a) a.openPopup(map.getCenter());
    });
  });
})();
