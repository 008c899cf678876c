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

  const canDraft = root.dataset.canDraft === '1';
  const canOpenIncident = root.dataset.canOpenIncident === '1';
  const RANK = { red: 0, orange: 1, yellow: 2, blue: 3 };
  const INSTRUMENT = new Set(['offline', 'stuck', 'range']);
  const GROUP_MIN = 3;  // three or more open alarms alike (see groupKey): one row
  const expanded = {};
  let drawPending = false;
  let seeding = false;

  function render(a) {
    const closed = a.status === 'resolved' || a.status === 'false_alarm';
    if (closed) {
      if (markers[a.id]) { map.removeLayer(markers[a.id]); delete markers[a.id]; }
      delete alarms[a.id]; return schedule();
    }
    const isNew = !alarms[a.id] || (a.level === 'red' && alarms[a.id].level !== 'red');
    a._new = isNew;
    alarms[a.id] = a;
    if (a.lon != null && a.lat != null) {
      if (!markers[a.id]) {
        markers[a.id] = L.circleMarker([a.lat, a.lon], { radius: 9, weight: 2 }).addTo(map);
        markers[a.id].on('click', () => pick(a.id, false));
      }
      // Size by urgency, instrument faults (offline, stuck) small and hollow: a storm of them
      // must not cover the red markers, which are drawn last, on top.
      const instrument = INSTRUMENT.has(a.rule);
      markers[a.id].setRadius(instrument ? 4 : ({ red: 11, orange: 9 }[a.level] || 7));
      markers[a.id].setStyle({ color: instrument ? colours[a.level] || '#888' : '#fff',
        weight: instrument ? 1.5 : 2, fillColor: colours[a.level] || '#888',
        fillOpacity: instrument ? 0.15 : 0.95 });
      markers[a.id].bindTooltip(en ? a.message_en : a.message);
    }
    if (seeding) a._new = false;
    else if (isNew && a.level === 'red' && a.status === 'active') beep();
    schedule();
  }

  // Redraw once per frame however many alarms arrived (a storm sends hundreds at once).
  function schedule() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => { drawPending = false; draw(); });
  }

  function byUrgency(x, y) {
    return (RANK[x.level] ?? 9) - (RANK[y.level] ?? 9) || (y.updated_at > x.updated_at ? 1 : y.updated_at < x.updated_at ? -1 : 0);
  }

  // Repeats of one rule on one kind of sensor at one level share a group; red alarms never
  // fold away: each stays on its own row, at the top.
  function groupKey(a) {
    return a.level === 'red' ? 'alarm:' + a.id : a.rule + '|' + (a.sensor_type || '') + '|' + a.level;
  }

  // Red first, then the latest; repeats folded into a group.
  function draw() {
    const groups = {};
    Object.values(alarms).forEach((a) => { (groups[groupKey(a)] ||= []).push(a); });
    const entries = [];
    Object.entries(groups).forEach(([key, list]) => {
      list.sort(byUrgency);
      if (list.length >= GROUP_MIN) entries.push({ key, list, head: list[0] });
      else list.forEach((a) => entries.push({ head: a }));
    });
    entries.sort((x, y) => byUrgency(x.head, y.head));
    const picked = tbody.querySelector('tr.picked');
    const pickedId = picked && picked.dataset.id;
    tbody.innerHTML = '';
    entries.forEach((e) => {
      if (!e.list) { tbody.appendChild(row(e.head)); return; }
      tbody.appendChild(groupRow(e.key, e.list));
      if (expanded[e.key]) e.list.forEach((a) => { const r = row(a); r.classList.add('group-member'); tbody.appendChild(r); });
    });
    if (pickedId) { const r = tbody.querySelector('tr[data-id="' + pickedId + '"]'); if (r) r.classList.add('picked'); }
    ['blue', 'yellow', 'orange', 'red'].forEach((lv) => Object.entries(markers).forEach(([id, m]) => {
      if (alarms[id] && alarms[id].level === lv && !INSTRUMENT.has(alarms[id].rule)) m.bringToFront();
    }));
    update();
  }

  function cellsOf(tr, html) {
    html.forEach((h) => { const td = document.createElement('td'); td.innerHTML = h; tr.appendChild(td); });
    tr.children[3].className = 'when';
    return tr;
  }

  function kindText(a) {
    const t = texts.types[a.sensor_type];
    return (t ? (en ? t[1] : t[0]) + ' ' : '') + (texts.rules[a.rule] || a.rule);
  }

  function groupRow(key, list) {
    const tr = document.createElement('tr');
    tr.className = 'group-row'; tr.dataset.group = key; tr.dataset.count = list.length;
    const waiting = list.filter((a) => a.status === 'active');
    const first = list.reduce((m, a) => (a.raised_at < m ? a.raised_at : m), list[0].raised_at);
    const last = list.reduce((m, a) => (a.updated_at > m ? a.updated_at : m), list[0].updated_at);
    cellsOf(tr, ['<span class="lvl lvl-' + list[0].level + '">' + levelText(list[0].level) + '</span>',
      '', statusText('active') + ' ' + waiting.length + ' / ' + list.length, when(first) + ' – ' + when(last), '']);
    const label = document.createElement('span'); label.className = 'group-label';
    label.textContent = kindText(list[0]) + ' ';
    const count = document.createElement('span'); count.className = 'count'; count.textContent = '×' + list.length;
    tr.children[1].append(label, count);
    const toggle = document.createElement('button'); toggle.type = 'button'; toggle.className = 'btn btn-small btn-link';
    toggle.dataset.action = 'expand'; toggle.textContent = expanded[key] ? texts.collapse : texts.expand;
    toggle.addEventListener('click', () => { expanded[key] = !expanded[key]; draw(); });
    tr.children[4].appendChild(toggle);
    if (canHandle && waiting.length) {
      const b = document.createElement('button'); b.type = 'button'; b.className = 'btn btn-small';
      b.dataset.action = 'acknowledge-group'; b.textContent = texts.ack_group + ' (' + waiting.length + ')';
      b.addEventListener('click', () => ackGroup(waiting.map((a) => a.id)));
      tr.children[4].appendChild(b);
    }
    return tr;
  }

  function row(a) {
    const tr = document.createElement('tr'); tr.dataset.id = a.id; tr.dataset.level = a.level;
    cellsOf(tr, ['<span class="lvl lvl-' + a.level + '">' + levelText(a.level) + '</span>',
      '', statusText(a.status) + (a.condition_active ? '' : (en ? ' (cleared)' : '（已恢复）')),
      when(a.updated_at), '']);
    const link = document.createElement(a.sensor_id ? 'a' : 'span');
    if (a.sensor_id) link.href = '/monitoring/sensors/' + a.sensor_id;
    link.textContent = en ? a.message_en : a.message; tr.children[1].appendChild(link);
    if (canHandle) (next[a.status] || []).forEach((action) => {
      const b = document.createElement('button'); b.type = 'button'; b.className = 'btn btn-small';
      b.textContent = texts[action]; b.dataset.action = action; b.addEventListener('click', () => act(a.id, action));
      tr.children[4].appendChild(b);
    });
    hiddenDanger(a, tr.children[4]);
    if (canDraft) {
      const d = document.createElement('a'); d.className = 'btn btn-small'; d.dataset.action = 'draft-warning';
      d.href = '/warnings/new?from_alarm=' + a.id; d.textContent = texts.draft; tr.children[4].appendChild(d);
    }
    if (canOpenIncident) {  // the same form as the alarm page: one alarm never opens two incidents
      const form = document.createElement('form'); form.method = 'post'; form.className = 'inline-form';
      form.action = '/response/alarms/' + a.id + '/incident';
      const token = document.createElement('input'); token.type = 'hidden'; token.name = 'csrf'; token.value = csrf;
      const inc = document.createElement('button'); inc.type = 'submit'; inc.className = 'btn btn-small';
      inc.dataset.action = 'incident'; inc.textContent = texts.incident;
      form.append(token, inc); tr.children[4].appendChild(form);
    }
    if (a._new) { a._new = false; tr.classList.add('flash'); }
    return tr;
  }

  async function ackGroup(ids) {
    if (!window.confirm(texts.ack_group_confirm)) return;
    const resp = await fetch('/api/v1/monitoring/alarms/acknowledge-group', {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ ids: ids, note: '' }), credentials: 'same-origin' });
    const body = await resp.json();
    if (!resp.ok) { window.alert(en ? body.message_en : body.message); return; }
    body.items.forEach(render);
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
    let row = tbody.querySelector('tr[data-id="' + id + '"]');
    const a = alarms[id];
    if (!row && a) {  // inside a folded group: unfold it
      expanded[groupKey(a)] = true; draw();
      row = tbody.querySelector('tr[data-id="' + id + '"]');
    }
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

  // The live dot: green while device data keeps arriving, amber once none has come for a
  // minute (a stopped simulator or gateway keeps the stream open), grey when the stream drops.
  const STALE_MS = 60000;
  const live = document.getElementById('live-state');
  let lastPulse = 0;
  function liveState(state, title) {
    live.classList.toggle('on', state === 'on'); live.classList.toggle('stale', state === 'stale');
    live.dataset.state = state; live.title = title;
  }
  function onPulse(p) {
    lastPulse = Date.now();
    const age = p.last_reading_ms == null ? Infinity : p.now_ms - p.last_reading_ms;
    if (age > STALE_MS) {
      const mins = isFinite(age) ? Math.floor(age / 60000) + ' ' + texts.minutes : '';
      liveState('stale', texts.stale + ' ' + mins);
    } else liveState('on', texts.live);
  }
  setInterval(() => { if (lastPulse && Date.now() - lastPulse > 20000) liveState('stale', texts.offline); }, 5000);

  function connect() {
    const source = new EventSource('/api/v1/monitoring/alarms/stream');
    source.addEventListener('error', () => liveState('off', texts.offline));
    source.addEventListener('pulse', (e) => onPulse(JSON.parse(e.data)));
    source.addEventListener('alarm', (e) => render(JSON.parse(e.data)));
  }
  // The server's first page: drawn at once, sorted, before the stream catches up.
  tbody.querySelectorAll('tr[data-id]').forEach((r) => {
    const d = r.dataset;
    alarms[d.id] = { id: Number(d.id), level: d.level, status: d.status, rule: d.rule,
      sensor_type: d.kind, message: d.message, message_en: d.message, updated_at: d.time,
      raised_at: d.first, condition_active: d.active === '1', hidden_danger_id: d.hd ? Number(d.hd) : null,
      sensor_id: d.sensor ? Number(d.sensor) : null, lon: d.lon ? Number(d.lon) : null, lat: d.lat ? Number(d.lat) : null };
  });
  seeding = true;
  Object.values(alarms).forEach((a) => render(a));
  seeding = false;
  draw();
  connect();
  window.safecityAlarms = alarms;
  window.safecityAlarmMap = map;
})();
