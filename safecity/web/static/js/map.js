/* The one map (一张图): divisions and grid cells drawn as the base layer (there is no tile server),
   enterprises and protected targets as clustered markers, all scoped by the server to the user. */
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('map-config').textContent);
  var EN = document.documentElement.lang === 'en';
  var API = '/api/v1/map/layers/';
  var GRID_MIN_ZOOM = 10;
  var PALETTE = ['#4c78a8', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d',
    '#f58518', '#e45756', '#79706e', '#83bcff', '#bab0ac'];
  // One glyph and colour per target type so the type reads without an image download.
  var TARGETS = {
    school: ['学', 'S', '#2e7d32'], kindergarten: ['幼', 'K', '#66a23a'],
    hospital: ['医', 'H', '#c62828'], nursing_home: ['养', 'N', '#8d6e63'],
    station: ['站', 'T', '#455a64'], shopping_centre: ['商', 'M', '#ef6c00'],
    scenic_spot: ['景', 'P', '#00897b'], stadium: ['体', 'A', '#3949ab'],
    residential: ['住', 'R', '#7b3fb5']
  };
  var OTHER_TARGET = ['?', '?', '#607d8b'];

  var map = L.map('map', { preferCanvas: true, zoomSnap: 0.25, minZoom: 5, maxZoom: 18,
    attributionControl: false });
  map.setView([37.45, 120.9], 8);
  // One shared canvas keeps thousands of polygons to a single DOM element.
  var canvas = L.canvas({ padding: 0.3, tolerance: 4 });
  var state = window.safecityMap = { map: map, layers: {}, counts: {}, data: {}, ready: false,
    error: null };

  function esc(v) {
    return String(v).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function num(v) { return v === null || v === undefined ? '' : Number(v).toLocaleString(EN ? 'en' : 'zh-CN'); }
  function field(name) { return cfg.fields[name] || name; }
  function choice(group, value) { return (cfg.choices[group] || {})[value] || value; }
  function popup(title, rows, href) {
    var html = '<div class="popup"><h4>' + esc(title) + '</h4><table>';
    rows.forEach(function (r) {
      if (r[1] !== null && r[1] !== undefined && r[1] !== '') {
        html += '<tr><th>' + esc(field(r[0])) + '</th><td>' + esc(r[1]) + '</td></tr>';
      }
    });
    if (!href) { return html + '</table></div>'; }
    return html + '</table><a class="more" href="' + esc(href) + '">' + esc(cfg.text.details) + ' →</a></div>';
  }
  function point(feature, latlng) {
    return L.circleMarker(latlng, { renderer: canvas, radius: 4 });
  }

  function divisionLayer(fc) {
    return L.geoJSON(fc, {
      renderer: canvas,
      pointToLayer: point,
      style: function (f) {
        var street = f.properties.level === 'street';
        var colour = PALETTE[parseInt(String(f.properties.code).slice(4, 6), 10) % PALETTE.length || 0];
        return { color: '#1b4f9c', weight: street ? 0.8 : 2, opacity: 0.9, fillColor: colour,
          fillOpacity: street ? 0.05 : 0.2 };
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindPopup(function () {
          return popup(p.name, [['code', p.code], ['level', choice('level', p.level)],
            ['population', num(p.population)]], '/registry/divisions/' + encodeURIComponent(p.code));
        });
        if (p.level !== 'street') {
          layer.bindTooltip(esc(p.name), { permanent: true, direction: 'center',
            className: 'division-label', interactive: false });
        }
      }
    });
  }

  function gridLayer(fc) {
    return L.geoJSON(fc, {
      renderer: canvas,
      pointToLayer: point,
      style: { color: '#5d7fae', weight: 0.6, opacity: 0.8, fillColor: '#5d7fae', fillOpacity: 0.03 },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindPopup(function () {
          return popup(p.name, [['code', p.code], ['population', num(p.population)],
            ['grid_member', p.grid_member]], '/registry/grid-cells/' + p.id);
        });
      }
    });
  }

  function clusterIcon(kind) {
    return function (cluster) {
      var markers = cluster.getAllChildMarkers();
      var n = markers.length;
      var hazchem = 0;
      for (var i = 0; i < markers.length; i++) { if (markers[i].options.hazchem) { hazchem++; } }
      var size = n < 10 ? 30 : n < 100 ? 36 : n < 1000 ? 42 : 48;
      var badge = hazchem ? '<i class="cluster-badge" title="' + esc(cfg.text.hazchem) + '">' + hazchem + '</i>' : '';
      return L.divIcon({ html: '<span>' + n + '</span>' + badge, iconSize: [size, size],
        className: 'cluster cluster-' + kind + (hazchem ? ' has-hazchem' : '') });
    };
  }

  function clusterGroup(kind) {
    return L.markerClusterGroup({ chunkedLoading: true, showCoverageOnHover: false,
      maxClusterRadius: 70, disableClusteringAtZoom: 16, iconCreateFunction: clusterIcon(kind) });
  }

  var ENT_ICONS = {
    plain: L.divIcon({ className: 'mk mk-ent', iconSize: [14, 14] }),
    hazchem: L.divIcon({ className: 'mk mk-ent hazchem', iconSize: [14, 14] })
  };

  function enterpriseLayer(fc) {
    var group = clusterGroup('ent');
    var markers = fc.features.filter(hasPoint).map(function (f) {
      var p = f.properties;
      var m = L.marker(latlng(f), { icon: p.is_hazchem ? ENT_ICONS.hazchem : ENT_ICONS.plain,
        hazchem: !!p.is_hazchem, division: p.division_code, title: p.name });
      m.bindPopup(function () {
        return popup(p.name, [['industry_section', choice('industry_section', p.industry_section)],
          ['supervision_category', choice('supervision_category', p.supervision_category)],
          ['scale', choice('scale', p.scale)], ['is_hazchem', p.is_hazchem ? cfg.text.yes : cfg.text.no],
          ['division_code', p.division_code]], '/registry/enterprises/' + p.id);
      });
      return m;
    });
    group.addLayers(markers);
    return group;
  }

  var targetIcons = {};
  function targetIcon(type) {
    if (!targetIcons[type]) {
      var g = TARGETS[type] || OTHER_TARGET;
      targetIcons[type] = L.divIcon({ className: 'mk-holder', iconSize: [20, 20],
        html: '<span class="mk mk-target" style="background:' + g[2] + '">' + (EN ? g[1] : g[0]) + '</span>' });
    }
    return targetIcons[type];
  }

  function targetLayer(fc) {
    var group = clusterGroup('target');
    var markers = fc.features.filter(hasPoint).map(function (f) {
      var p = f.properties;
      var m = L.marker(latlng(f), { icon: targetIcon(p.target_type), division: p.division_code,
        title: p.name });
      m.bindPopup(function () {
        return popup(p.name, [['target_type', choice('target_type', p.target_type)],
          ['capacity', num(p.capacity)], ['division_code', p.division_code]],
          '/registry/protected-targets/' + p.id);
      });
      return m;
    });
    group.addLayers(markers);
    return group;
  }

  function hasPoint(f) { return f.geometry && f.geometry.type === 'Point'; }
  function latlng(f) { return [f.geometry.coordinates[1], f.geometry.coordinates[0]]; }

  function load(name) {
    return fetch(API + name, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) {
        if (r.status === 401) { window.location.href = '/login?next=/map'; }
        if (!r.ok) { throw new Error(cfg.text.failed + ': ' + name + ' (HTTP ' + r.status + ')'); }
        return r.json();
      });
  }

  // Grid cells appear by themselves once zoomed in; a click in the layer switch takes over.
  var gridAuto = true;
  var gridBusy = false;
  function syncGrid() {
    var grid = state.layers['grid-cells'];
    if (!grid || !gridAuto) { return; }
    var want = map.getZoom() >= GRID_MIN_ZOOM;
    if (want !== map.hasLayer(grid)) {
      gridBusy = true;
      if (want) { map.addLayer(grid); } else { map.removeLayer(grid); }
      gridBusy = false;
    }
  }
  map.on('zoomend', syncGrid);
  map.on('overlayadd overlayremove', function (e) {
    if (e.layer === state.layers['grid-cells'] && !gridBusy) { gridAuto = false; }
  });

  function setCount(name, value) {
    state.counts[name] = value;
    var el = document.querySelector('[data-count="' + name + '"]');
    if (el) { el.textContent = num(value); }
  }

  function legend() {
    var control = L.control({ position: 'bottomright' });
    control.onAdd = function () {
      var div = L.DomUtil.create('div', 'map-legend');
      div.innerHTML = document.getElementById('map-legend-src').innerHTML;
      var box = div.querySelector('.lg-targets');
      var html = '<b>' + esc(box.getAttribute('data-title')) + '</b>';
      Object.keys(cfg.choices.target_type).forEach(function (type) {
        var g = TARGETS[type] || OTHER_TARGET;
        html += '<span><span class="mk mk-target" style="background:' + g[2] + '">' + (EN ? g[1] : g[0]) +
          '</span>' + esc(cfg.choices.target_type[type]) + '</span>';
      });
      box.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    return control;
  }

  function build(results) {
    var names = ['divisions', 'grid-cells', 'enterprises', 'protected-targets'];
    var makers = [divisionLayer, gridLayer, enterpriseLayer, targetLayer];
    var overlays = {};
    names.forEach(function (name, i) {
      var fc = results[i];
      state.data[name] = fc;
      state.layers[name] = makers[i](fc);
      overlays[esc(cfg.layers[name])] = state.layers[name];
      setCount(name, fc.features.length);
    });
    setCount('hazchem', results[2].features.filter(function (f) { return f.properties.is_hazchem; }).length);
    // Hooks for browser tests and for anyone checking scope by hand in the console.
    state.enterpriseDivisions = results[2].features.map(function (f) { return f.properties.division_code; });
    state.divisionNames = results[0].features.filter(function (f) { return f.properties.level === 'county'; })
      .map(function (f) { return f.properties.name; });
    state.counts.counties = state.divisionNames.length;
    ['divisions', 'enterprises', 'protected-targets'].forEach(function (n) { state.layers[n].addTo(map); });
    var control = L.control.layers(null, overlays, { collapsed: window.innerWidth < 860, position: 'topright' }).addTo(map);
    loadOverlays(control);
    legend().addTo(map);
    if (focus) { showFocus(); } else { fitScope(); }
    syncGrid();
  }

  // `/map?focus=lon,lat&alarm=ID` (the link on an alarm's page): open centred there with the
  // alarm's marker highlighted and the layers around it (alarms, major hazards) switched on.
  function readFocus() {
    var q = new URLSearchParams(window.location.search);
    var parts = (q.get('focus') || '').split(',');
    var lon = parseFloat(parts[0]);
    var lat = parseFloat(parts[1]);
    if (parts.length !== 2 || !isFinite(lon) || !isFinite(lat) || Math.abs(lon) > 180 || Math.abs(lat) > 90) {
      return null;
    }
    var alarm = /^[0-9]{1,12}$/.test(q.get('alarm') || '') ? q.get('alarm') : null;
    return { lon: lon, lat: lat, alarm: alarm, zoom: 15, alarmFound: false };
  }
  var focus = state.focus = readFocus();
  var FOCUS_LAYERS = ['alarms', 'risk-hazards'];

  function showFocus() {
    map.setView([focus.lat, focus.lon], focus.zoom, { animate: false });
    var title = cfg.text.alarm + (focus.alarm ? ' #' + focus.alarm : '');
    focus.marker = L.marker([focus.lat, focus.lon], { zIndexOffset: 1000, title: title, keyboard: true,
      icon: L.divIcon({ className: 'mk-focus', iconSize: [28, 28], html: '<span></span>' }) })
      .bindPopup(focus.alarm ? popup(title, [], '/monitoring/alarms/' + focus.alarm) : popup(title, []))
      .addTo(map);
  }

  // The alarm's own feature in the alarms layer is drawn larger, on top, with a thick ring.
  function highlightAlarm(layer) {
    layer.eachLayer(function (m) {
      if (String((m.feature.properties || {}).id) === focus.alarm && m.setStyle) {
        m.setStyle({ radius: 12, weight: 4, color: '#111' });
        if (m.bringToFront) { m.bringToFront(); }
        focus.alarmFound = true;
      }
    });
  }

  function fitScope() {
    var order = ['divisions', 'grid-cells', 'enterprises', 'protected-targets'];
    for (var i = 0; i < order.length; i++) {
      var layer = state.layers[order[i]];
      var bounds = layer.getBounds && layer.getBounds();
      if (bounds && bounds.isValid()) { map.fitBounds(bounds, { padding: [24, 24], animate: false }); return; }
    }
  }

  // Layers other capabilities publish (risk levels, warnings in force, alarms…): coloured by
  // `colour` or `level`, off until chosen in the layer switch, skipped if they fail to load.
  var LEVEL_COLOURS = { red: '#d7191c', orange: '#fd8d3c', yellow: '#fed976', blue: '#2c7bb6' };
  function overlayColour(p) { return p.colour || LEVEL_COLOURS[p.level] || '#607d8b'; }
  function overlayPopup(p) {
    var title = p.headline || p.name || p.title || '';
    var t = cfg.text;
    return popup(title, [[t.o_level, t['level_' + p.level] || p.level],
      [t.o_event, EN ? (p.event_en || p.event) : p.event], [t.o_division, p.division_code],
      [t.o_instruction, p.instruction]], p.url);
  }
  function overlayLayer(fc) {
    return L.geoJSON(fc, {
      renderer: canvas,
      style: function (f) {
        var c = overlayColour(f.properties || {});
        return { color: c, weight: 1.5, fillColor: c, fillOpacity: 0.35 };
      },
      pointToLayer: function (f, ll) {
        var c = overlayColour(f.properties || {});
        return L.circleMarker(ll, { renderer: canvas, radius: 7, color: '#333', weight: 1,
          fillColor: c, fillOpacity: 0.9 });
      },
      onEachFeature: function (f, layer) { layer.bindPopup(overlayPopup(f.properties || {})); }
    });
  }
  function loadOverlays(control) {
    state.overlays = {};
    (cfg.overlays || []).forEach(function (o) {
      if (o.lazy) { lazyOverlay(control, o); return; }
      fetchLayer(o.url).then(function (fc) {
        if (!fc) { return; }
        var layer = overlayLayer(fc);
        state.overlays[o.name] = fc.features.length;
        if (focus && FOCUS_LAYERS.indexOf(o.name) >= 0) {
          layer.addTo(map);
          focus.layersOn = (focus.layersOn || []).concat([o.name]);
          if (o.name === 'alarms' && focus.alarm) { highlightAlarm(layer); }
        }
        control.addOverlay(layer, esc(o.label) + ' (' + num(fc.features.length) + ')');
      });
    });
  }
  function fetchLayer(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (fc) { return fc && fc.features ? fc : null; })
      .catch(function () { return null; /* an optional layer never blocks the map */ });
  }
  // A kind's layer (every sensor, risk point, shelter… in scope) is fetched the first time it
  // is switched on, then labelled with its count; one that fails leaves the switch.
  function lazyOverlay(control, o) {
    var holder = L.layerGroup();
    var asked = false;
    holder.on('add', function () {
      if (asked) { return; }
      asked = true;
      fetchLayer(o.url).then(function (fc) {
        control.removeLayer(holder);
        if (!fc) { map.removeLayer(holder); return; }
        holder.addLayer(overlayLayer(fc));
        state.overlays[o.name] = fc.features.length;
        control.addOverlay(holder, esc(o.label) + ' (' + num(fc.features.length) + ')');
      });
    });
    control.addOverlay(holder, esc(o.label));
  }

  var status = document.getElementById('map-status');
  Promise.all(['divisions', 'grid-cells', 'enterprises', 'protected-targets'].map(load))
    .then(function (results) {
      build(results);
      status.hidden = true;
      state.ready = true;
    })
    .catch(function (err) {
      state.error = String(err && err.message || err);
      status.textContent = state.error;
      status.classList.add('error');
    });

  // On a phone the counts panel folds away so the map keeps the screen.
  var panel = document.getElementById('map-panel');
  var toggle = panel.querySelector('.map-panel-toggle');
  if (window.innerWidth < 860) { panel.classList.add('collapsed'); toggle.setAttribute('aria-expanded', 'false'); }
  toggle.addEventListener('click', function () {
    var collapsed = panel.classList.toggle('collapsed');
    toggle.setAttribute('aria-expanded', collapsed ? 'false' : 'true');
  });
}());
