/* Nearest resources and evacuation on the road network: click a point, see the teams that reach
   it first (route by road, straight line for contrast), the shelters people would go to, the
   5-minute reach, and an evacuation plan drawn as flows with each shelter's fill. */
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('rs-config').textContent);
  var T = JSON.parse(document.getElementById('rs-texts').textContent);
  var csrf = document.getElementById('rs-csrf').value;
  var map = L.map('rs-map', { preferCanvas: true }).setView([cfg.center[1], cfg.center[0]], 12);
  var base = L.layerGroup().addTo(map);
  var drawn = L.layerGroup().addTo(map);
  var iso = L.layerGroup().addTo(map);
  var evac = L.layerGroup().addTo(map);
  var point = null;
  var routes = {};
  var $ = function (id) { return document.getElementById(id); };

  var legend = L.control({ position: 'bottomleft' });
  legend.onAdd = function () {
    var d = L.DomUtil.create('div', 'rs-legend');
    d.innerHTML = '<div><i style="border-color:#c62828"></i>' + T.res_teams + '</div>' +
      '<div><i style="border-color:#2e7d32"></i>' + T.res_shelters + '</div>' +
      '<div><i style="border-color:#6a1b9a"></i>' + T.res_experts + '</div>' +
      '<div><i style="border-color:#0d47a1"></i>' + T.res_equipment + '</div>' +
      '<div><i style="border-color:#555;border-top-style:dashed"></i>' + T.res_straight + '</div>';
    return d;
  };
  legend.addTo(map);

  function get(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw b; return b; }); });
  }
  function post(url, body) {
    return fetch(url, { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (b) { if (!r.ok) throw b; return b; }); });
  }
  function message(err) {
    var zh = document.documentElement.lang !== 'en';
    if (err && err.errors && err.errors.length) return zh ? err.errors[0].message : err.errors[0].message_en;
    if (err && err.detail && err.detail.length) return zh ? err.detail[0].message : err.detail[0].message_en;
    return err && (zh ? err.message : err.message_en) || String(err);
  }
  function showError(err) { var e = $('rs-error'); e.textContent = message(err); e.hidden = false; }
  function minutes(s) { return (s / 60).toFixed(1) + ' ' + T.res_minutes; }
  function km(m) { return (m / 1000).toFixed(m < 10000 ? 2 : 1) + ' km'; }
  function esc(s) { var d = document.createElement('div'); d.textContent = s == null ? '' : s; return d.innerHTML; }
  function icon(cls, text) {
    // equipment stands where its team is: a smaller badge beside the team's marker, not under it
    var eq = cls === 'equip';
    return L.divIcon({ className: '', html: '<div class="rs-marker ' + cls + '">' + (text || '') + '</div>',
      iconSize: eq ? [20, 20] : [26, 26], iconAnchor: eq ? [-6, -2] : [13, 13] });
  }
  function latlngs(line) { return line.coordinates.map(function (c) { return [c[1], c[0]]; }); }

  get('/api/v1/map/layers/divisions').then(function (fc) {
    L.geoJSON(fc, { style: { color: '#5b7fa8', weight: 1.2, fill: true, fillColor: '#e9eff6', fillOpacity: 0.5 },
      interactive: false }).addTo(base);
  }).catch(function () {});

  function listInto(sectionId, rows, cls, extra) {
    var sec = $(sectionId); var ol = sec.querySelector('ol');
    ol.innerHTML = ''; sec.hidden = false;
    if (!rows.results.length && !rows.not_reached.length) {
      ol.innerHTML = '<li><span></span><span class="meta">' + T.res_none + '</span></li>';
    }
    rows.results.forEach(function (r, i) {
      var li = document.createElement('li'); li.className = cls;
      li.innerHTML = '<span class="rank">' + (i + 1) + '</span><span class="name">' + esc(r.name) + '</span>' +
        '<span class="eta">' + minutes(r.travel_time_s) + '</span>' +
        '<span class="meta">' + T.res_road_km + ' ' + km(r.distance_m) + ' · ' + T.res_straight + ' ' + km(r.straight_m) +
        (extra ? ' · ' + extra(r) : '') + '</span>';
      li.addEventListener('click', function () { focus(cls + r.id); });
      li.dataset.key = cls + r.id;
      ol.appendChild(li);
    });
    rows.not_reached.forEach(function (r) {
      var li = document.createElement('li'); li.className = cls;
      li.innerHTML = '<span class="rank">–</span><span class="name">' + esc(r.name) + '</span><span class="eta bad">' +
        T.res_unreachable + '</span><span class="meta bad">' + esc(document.documentElement.lang === 'en' ? r.message_en : r.message) + '</span>';
      ol.appendChild(li);
    });
  }
  function focus(key) {
    // experts' and equipment's routes are drawn only when picked, so the map stays readable
    if (routes[key] && !drawn.hasLayer(routes[key])) routes[key].addTo(drawn);
    Object.keys(routes).forEach(function (k) { routes[k].setStyle({ weight: k === key ? 7 : 4, opacity: k === key ? 1 : 0.55 }); });
    document.querySelectorAll('.rs-list li').forEach(function (li) { li.classList.toggle('on', li.dataset.key === key); });
    if (routes[key]) map.fitBounds(routes[key].getBounds().extend(point.getLatLng()), { padding: [30, 30] });
  }
  function draw(rows, cls, colour, quiet) {
    rows.results.forEach(function (r, i) {
      var line = L.polyline(latlngs(r.route), { color: colour, weight: i === 0 ? 6 : 4, opacity: i === 0 ? 0.95 : 0.55 });
      if (!quiet) line.addTo(drawn);
      routes[cls + r.id] = line;
      L.marker([r.lat, r.lon], { icon: icon(cls, i + 1), title: r.name }).addTo(drawn)
        .bindPopup('<b>' + esc(r.name) + '</b><br>' + T.res_by_road + ' ' + minutes(r.travel_time_s) + ' · ' + km(r.distance_m));
    });
    if (rows.results.length && cls === 'team') {
      var r = rows.results[0];
      L.polyline([[r.lat, r.lon], [rows.point.lat, rows.point.lon]], { color: '#555', weight: 2, dashArray: '6 6' }).addTo(drawn);
    }
  }

  function ask(latlng) {
    $('rs-error').hidden = true; drawn.clearLayers(); iso.clearLayers(); evac.clearLayers(); routes = {};
    document.body.dataset.rsExperts = ''; document.body.dataset.rsEquipment = '';
    $('rs-evac-out').hidden = true;
    if (point) map.removeLayer(point);
    point = L.marker(latlng, { icon: icon('point', ''), zIndexOffset: 1000 }).addTo(map);
    var q = 'lon=' + latlng.lng.toFixed(6) + '&lat=' + latlng.lat.toFixed(6);
    $('rs-point').hidden = false;
    $('rs-point').textContent = T.res_point + '：' + latlng.lng.toFixed(5) + ', ' + latlng.lat.toFixed(5);
    $('rs-tools').hidden = false;
    Promise.all([
      get('/api/v1/resources/nearest?kind=rescue-teams&n=5&' + q),
      get('/api/v1/resources/nearest?kind=shelters&n=5&' + q)
    ]).then(function (both) {
      draw(both[1], 'shelter', '#2e7d32');
      draw(both[0], 'team', '#c62828');
      listInto('rs-teams', both[0], 'team', function (r) { return (r.members || 0) + ' ' + T.res_members; });
      listInto('rs-shelters', both[1], 'shelter', function (r) { return T.res_people + ' ' + (r.capacity || 0).toLocaleString(); });
      var all = drawn.getLayers().filter(function (l) { return l.getBounds; });
      if (all.length) {
        var b = L.latLngBounds([latlng]); all.forEach(function (l) { b.extend(l.getBounds()); });
        map.fitBounds(b, { padding: [30, 30] });
      }
      document.body.dataset.rsReady = '1';
    }).catch(function (err) { $('rs-teams').hidden = true; $('rs-shelters').hidden = true; showError(err); document.body.dataset.rsReady = 'error'; });
    askExperts(); askEquipment();
  }

  // experts by field and equipment by type: markers at once, a route when a row is picked
  var extra = { expert: L.layerGroup().addTo(map), equip: L.layerGroup().addTo(map) };
  function askSide(kind, cls, sectionId, colour, query, describe, flag) {
    if (!point) return;
    var ll = point.getLatLng();
    document.body.dataset[flag] = '';
    extra[cls].clearLayers();
    Object.keys(routes).forEach(function (k) { if (k.indexOf(cls) === 0) { drawn.removeLayer(routes[k]); delete routes[k]; } });
    get('/api/v1/resources/nearest?kind=' + kind + '&n=5&lon=' + ll.lng.toFixed(6) + '&lat=' + ll.lat.toFixed(6) + query())
      .then(function (rows) {
        rows.results.forEach(function (r, i) {
          routes[cls + r.id] = L.polyline(latlngs(r.route), { color: colour, weight: 4, opacity: 0.8 });
          L.marker([r.lat, r.lon], { icon: icon(cls, i + 1), title: r.name }).addTo(extra[cls])
            .bindPopup('<b>' + esc(r.name) + '</b><br>' + esc(describe(r)) + '<br>' + T.res_by_road + ' ' + minutes(r.travel_time_s));
        });
        listInto(sectionId, rows, cls, describe);
        document.body.dataset[flag] = '1';
      }).catch(function (err) { $(sectionId).hidden = true; showError(err); document.body.dataset[flag] = 'error'; });
  }
  function askExperts() {
    askSide('experts', 'expert', 'rs-experts', '#6a1b9a',
      function () { var f = $('rs-field').value; return f ? '&field=' + encodeURIComponent(f) : ''; },
      function (r) { return [cfg.fields[r.field] || r.field, r.organisation, r.phone].filter(Boolean).join(' · '); },
      'rsExperts');
  }
  function askEquipment() {
    askSide('equipment', 'equip', 'rs-equipment', '#0d47a1',
      function () { var t = $('rs-eqtype').value; return '&available_only=true' + (t ? '&equipment_type=' + encodeURIComponent(t) : ''); },
      function (r) { return [cfg.equipment_types[r.equipment_type] || r.equipment_type, '×' + r.quantity,
        r.tracker_id ? T.res_tracker + ' ' + r.tracker_id : T.res_no_tracker].join(' · '); },
      'rsEquipment');
  }
  $('rs-field').addEventListener('change', askExperts);
  $('rs-eqtype').addEventListener('change', askEquipment);

  $('rs-iso').addEventListener('click', function () {
    if (!point) return;
    var ll = point.getLatLng();
    get('/api/v1/resources/isochrone?minutes=5&direction=to_point&lon=' + ll.lng.toFixed(6) + '&lat=' + ll.lat.toFixed(6))
      .then(function (f) {
        iso.clearLayers();
        L.geoJSON(f, { style: { color: '#1b5fc1', weight: 1.5, fillColor: '#1b5fc1', fillOpacity: 0.15 } }).addTo(iso)
          .bindTooltip(T.res_isochrone + ' 5 ' + T.res_minutes + ' · ' + f.properties.area_km2 + ' km²');
      }).catch(showError);
  });

  $('rs-evac').addEventListener('click', function () {
    if (!point) return;
    var ll = point.getLatLng();
    var radius = parseFloat($('rs-radius').value) || 1500;
    evac.clearLayers();
    L.circle(ll, { radius: radius, color: '#e65100', weight: 1.5, dashArray: '4 4', fill: false }).addTo(evac);
    post('/api/v1/resources/evacuation', { center: [ll.lng, ll.lat], radius_m: radius }).then(function (p) {
      var most = Math.max.apply(null, p.flows.map(function (f) { return f.people; }).concat([1]));
      p.flows.forEach(function (f) {
        L.polyline([[f.from[1], f.from[0]], [f.to[1], f.to[0]]],
          { color: '#e65100', weight: 1.5 + 5 * f.people / most, opacity: 0.7 }).addTo(evac)
          .bindTooltip(esc(f.cell_name) + ' → ' + esc(f.shelter_name) + '：' + f.people + ' · ' + minutes(f.time_s));
      });
      p.shelters.forEach(function (s) {
        var full = s.people >= s.capacity;
        L.circleMarker([s.lat, s.lon], { radius: 6 + 10 * Math.sqrt(s.people / Math.max(1, s.capacity)),
          color: '#fff', weight: 2, fillColor: full ? '#e65100' : '#2e7d32', fillOpacity: 0.9 }).addTo(evac)
          .bindTooltip(esc(s.name) + '：' + s.people + ' / ' + s.capacity);
      });
      var sec = $('rs-evac-out'); sec.hidden = false;
      sec.querySelector('dl').innerHTML =
        '<div><dt>' + T.res_people + '</dt><dd>' + p.people.toLocaleString() + '</dd></div>' +
        '<div><dt>' + T.res_assigned + '</dt><dd>' + p.assigned_people.toLocaleString() + '</dd></div>' +
        '<div><dt>' + T.res_unassigned + '</dt><dd class="' + (p.unassigned_people ? 'bad' : '') + '">' + p.unassigned_people.toLocaleString() + '</dd></div>' +
        '<div><dt>' + T.res_mean_time + '</dt><dd>' + minutes(p.mean_time_s) + '</dd></div>';
      var ol = sec.querySelector('ol'); ol.innerHTML = '';
      p.shelters.sort(function (a, b) { return b.people - a.people; }).forEach(function (s, i) {
        var li = document.createElement('li'); li.className = 'shelter';
        var share = Math.min(100, 100 * s.people / Math.max(1, s.capacity));
        li.innerHTML = '<span class="rank">' + (i + 1) + '</span><span class="name">' + esc(s.name) + '</span>' +
          '<span class="eta">' + s.people.toLocaleString() + ' / ' + s.capacity.toLocaleString() + '</span>' +
          '<span class="rs-fillbar' + (share >= 100 ? ' full' : '') + '"><span style="width:' + share + '%"></span></span>';
        ol.appendChild(li);
      });
      lastPlan = { plan: p, radius: radius };
      sec.scrollIntoView({ block: 'nearest' });
      if ($('rs-attached')) $('rs-attached').textContent = '';
      document.body.dataset.rsEvac = '1';
    }).catch(showError);
  });

  // from an incident's page: the plan goes into that incident's timeline as a note
  var lastPlan = null;
  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }
  if ($('rs-attach')) {
    $('rs-attach').addEventListener('click', function () {
      if (!lastPlan || !cfg.incident) return;
      var p = lastPlan.plan;
      var to = p.shelters.slice().sort(function (a, b) { return b.people - a.people; }).slice(0, 10)
        .map(function (s) { return s.name + ' ' + s.people; }).join('，');
      var zh = document.documentElement.lang !== 'en';
      var colon = zh ? '：' : ': ', semi = zh ? '；' : '; ';
      if (!zh) to = to.replace(/，/g, ', ');
      var note = T.res_note_head + colon + fill(T.res_note_area, { r: lastPlan.radius }) + semi +
        fill(T.res_note_people, { cells: p.cells, people: p.people }) + semi +
        fill(T.res_note_assigned, { assigned: p.assigned_people, unassigned: p.unassigned_people,
          minutes: (p.mean_time_s / 60).toFixed(1) }) + (to ? semi + T.res_note_to + colon + to : '');
      post('/api/v1/response/incidents/' + cfg.incident + '/notes', { note: note.slice(0, 3900) })
        .then(function () { $('rs-attached').textContent = T.res_attached; document.body.dataset.rsAttached = '1'; })
        .catch(showError);
    });
  }

  map.on('click', function (e) { ask(e.latlng); });
  var params = new URLSearchParams(location.search);
  if (params.get('lon') && params.get('lat')) {
    var at = L.latLng(parseFloat(params.get('lat')), parseFloat(params.get('lon')));
    map.setView(at, 14); ask(at);
  }
})();
