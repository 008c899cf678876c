// Alarm console: table + map fed by server-sent events; a short tone on new red alarms.
(function () {
  const root = document.getElementById('alarm-console');
  if (!root) return;
  const texts = JSON.parse(document.getElementById('mon-texts').textContent);
  const en = root.dataset.lang === 'en';
  const canHandle = root.dataset.canHandle === '1';
  const canOpenHd = root.dataset.canOpenHd === '1';
  const csrf = root.dataset.csrf;
  const tbody = document.querySelector('#alarm-table tbody');
  const colours = { red: '#d7191c', orange: '#f17c0e', yellow: '#e6c200', blue: '#2b83ba' };
  const map = L.map('alarm-map', { preferCanvas: true }).setView([37.45, 121.3], 9);
  // County outlines (scoped by the server) for orientation: there is no tile server offline.
  fetch('/api/v1/map/layers/divisions', { credentials: 'same-origin' })
    .then((r) => (r.ok ? r.json() : null))
    .then((fc) => {
      if (!fc) return;
      const outline = L.geoJSON(fc, { interactive: false,
        style: { color: '#7d93b5', weight: 1, fillColor: '#ffffff', fillOpacity: 0.5 },
        pointToLayer: () => L.layerGroup() }).addTo(map);
      outline.bringToBack();
      if (outline.getBounds().isValid()) map.fitBounds(outline.getBounds(), { padding: [8, 8] });
    })
    .catch(() => {});
  const markers = {};
  const alarms = {};
  let audio = null;

  function beep() {
    if (!document.getElementById('sound-on').checked) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator(); const gain = audio.createGain();
      osc.frequency.value = 880; osc.connect(gain); gain.connect(audio.destination);
      gain.gain.setValueAtTime(0.2, audio.currentTime);
      osc.start(); osc.stop(audio.currentTime + 0.4);
    } catch (e) { /* sound is a courtesy */ }
  }

  // 24-hour clock in Beijing time whatever the browser's locale; the date too when not today.
  function when(iso) {
    const opts = { timeZone: 'Asia/Shanghai', hour12: false };
    const d = new Date(iso);
    const day = (x) => x.toLocaleDateString('zh-CN', opts);
    const time = d.toLocaleTimeString('zh-CN', opts);
    return day(d) === day(new Date()) ? time
      : d.toLocaleDateString('zh-CN', { ...opts, month: '2-digit', day: '2-digit' }) + ' ' + time;
  }
  function statusText(s) { const p = texts.statuses[s]; return p ? (en ? p[1] : p[0]) : s; }
  function levelText(l) { return en ? l : (texts.levels[l] || l); }
  const next = { active: ['acknowledge', 'false_alarm'], acknowledged: ['handle', 'false_alarm'],
                 handling: ['resolve', 'false_alarm'] };

  function render(a) {
    const closed = a.status === 'resolved' || a.status === 'false_alarm';
    let row = tbody.querySelector('tr[data-id="' + a.id + '"]');
    if (closed) { if (row) row.remove(); if (markers[a.id]) { map.removeLayer(markers[a.id]); delete markers[a.id]; } delete alarms[a.id]; return update(); }
    const isNew = !alarms[a.id] || (a.level === 'red' && alarms[a.id].level !== 'red');
    alarms[a.id] = a;
    if (!row) { row = document.createElement('tr'); row.dataset.id = a.id; tbody.prepend(row); }
    row.innerHTML = '';
    const cells = [
      '<span class="lvl lvl-' + a.level + '">' + levelText(a.level) + '</span>',
      '', statusText(a.status) + (a.condition_active ? '' : (en ? ' (cleared)' : '（已恢复）')),
      when(a.updated_at), ''];
    cells.forEach((html, i) => { const td = document.createElement('td'); td.innerHTML = html; row.appendChild(td); });
    const link = document.createElement(a.sensor_id ? 'a' : 'span');
    if (a.sensor_id) link.href = '/monitoring/sensors/' + a.sensor_id;
    link.textContent = en ? a.message_en : a.message; row.children[1].appendChild(link);
    if (canHandle) (next[a.status] || []).forEach((action) => {
      const b = document.createElement('button'); b.type = 'button'; b.className = 'btn btn-small';
      b.textContent = texts[action]; b.dataset.action = action; b.addEventListener('click', () => act(a.id, action));
      row.children[4].appendChild(b);
    });
    hiddenDanger(a, row.children[4]);
    if (isNew) { row.classList.remove('flash'); void row.offsetWidth; row.classList.add('flash'); }
    if (a.lon != null && a.lat != null) {
      if (!markers[a.id]) {
        markers[a.id] = L.circleMarker([a.lat, a.lon], { radius: 8 }).addTo(map);
        markers[a.id].on('click', () => pick(a.id, false));
      }
      markers[a.id].setStyle({ color: colours[a.level] || '#888', fillColor: colours[a.level] || '#888', fillOpacity: 0.8 });
      markers[a.id].bindTooltip(en ? a.message_en : a.message);
    }
    if (isNew && a.level === 'red' && a.status === 'active') beep();
    update();
  }

  // Alarm → hidden danger: a link once opened, else a button for roles that may open one.
  function hiddenDanger(a, cell) {
    const detail = document.createElement('a');
    detail.href = '/monitoring/alarms/' + a.id; detail.className = 'btn btn-small btn-link';
    detail.textContent = texts.detail; cell.appendChild(detail);
    if (a.hidden_danger_id) {
      const link = document.createElement('a'); link.className = 'hd-link';
      link.href = '/hazards/' + a.hidden_danger_id; link.textContent = texts.hd_linked + ' #' + a.hidden_danger_id;
      cell.appendChild(link);
    } else if (canOpenHd && a.status !== 'false_alarm') {
      const b = document.createElement('button'); b.type = 'button'; b.className = 'btn btn-small';
      b.textContent = texts.open_hd; b.dataset.action = 'hidden-danger';
      b.addEventListener('click', () => openHiddenDanger(a.id)); cell.appendChild(b);
    }
  }

  async function openHiddenDanger(id) {
    if (!window.confirm(texts.open_hd_confirm)) return;
    const resp = await fetch('/api/v1/monitoring/alarms/' + id + '/hidden-danger', {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: '{}', credentials: 'same-origin' });
    const body = await resp.json();
    if (!resp.ok) { window.alert(en ? body.message_en : body.message); return; }
    window.location.href = '/hazards/' + body.hidden_danger_id;
  }

  // A row and its marker point at each other: click one to find the other.
  function pick(id, fly) {
    tbody.querySelectorAll('tr.picked').forEach((r) => r.classList.remove('picked'));
    const row = tbody.querySelector('tr[data-id="' + id + '"]');
    if (row) { row.classList.add('picked'); if (!fly) row.scrollIntoView({ block: 'nearest' }); }
    const marker = markers[id];
    if (marker && fly) { map.flyTo(marker.getLatLng(), Math.max(map.getZoom(), 12)); marker.openTooltip(); }
  }
  tbody.addEventListener('click', (e) => {
    if (e.target.closest('a, button')) return;
    const row = e.target.closest('tr[data-id]');
    if (row) pick(row.dataset.id, true);
  });

  function update() {
    const n = Object.keys(alarms).length;
    document.getElementById('open-count').textContent = n;
    document.getElementById('no-alarms').hidden = n > 0;
  }

  async function act(id, action) {
    const note = window.prompt(texts.note, '') ;
    if (note === null) return;
    const resp = await fetch('/api/v1/monitoring/alarms/' + id + '/' + action, {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ note: note }), credentials: 'same-origin' });
    const body = await resp.json();
    if (!resp.ok) { window.alert(en ? body.message_en : body.message); return; }
    render(body);
  }

  function connect() {
    const live = document.getElementById('live-state');
    const source = new EventSource('/api/v1/monitoring/alarms/stream');
    source.addEventListener('open', () => live.classList.add('on'));
    source.addEventListener('error', () => live.classList.remove('on'));
    source.addEventListener('alarm', (e) => render(JSON.parse(e.data)));
  }
  connect();
  window.safecityAlarms = alarms;
  window.safecityAlarmMap = map;
})();
