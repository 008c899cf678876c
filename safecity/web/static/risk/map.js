/* Four-colour risk map (四色风险图): areas coloured red/orange/yellow/blue by the server's area
   rule, major hazard markers, and on click the explanation of an area's colour. The page
   holds no texts of its own: labels come from the #risk-map-config JSON in the page language. */
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('risk-map-config').textContent);
  var T = cfg.text;
  var API = '/api/v1/risk/map';
  var map = L.map('map', { preferCanvas: true, zoomSnap: 0.25, minZoom: 5, maxZoom: 18,
    attributionControl: false });
  map.setView([37.45, 120.9], 8);
  var canvas = L.canvas({ padding: 0.3, tolerance: 3 });
  var state = window.safecityRiskMap = { map: map, layer: null, hazards: null, data: null,
    explain: null, ready: false, error: null, loads: 0 };
  var unitSel = document.getElementById('risk-unit');
  var resSel = document.getElementById('risk-res');
  var resWrap = document.getElementById('risk-res-wrap');
  var hazardBox = document.getElementById('risk-hazards');
  var statusEl = document.getElementById('map-status');
  var explainEl = document.getElementById('risk-explain');
  var fitted = false;

  function esc(v) {
    return String(v === null || v === undefined ? '' : v).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function getJSON(url) {
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) { throw new Error((cfg.lang === 'en' ? body.message_en : body.message) || r.status); }
          return body;
        });
      });
  }
  function status(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle('error', !!isError);
  }
  function query() {
    var q = '?unit=' + encodeURIComponent(unitSel.value);
    if (unitSel.value === 'h3') { q += '&resolution=' + encodeURIComponent(resSel.value); }
    return q;
  }

  function setCounts(fc) {
    var areas = fc.summary.areas;
    Object.keys(cfg.levels).forEach(function (lv) {
      var el = document.querySelector('[data-count="' + lv + '"]');
      if (el) { el.textContent = areas[lv]; }
    });
    document.getElementById('risk-total').textContent = fc.summary.total_areas;
  }

  function pct(x) { return (Math.round(x * 1000) / 10) + '%'; }
  // Streets and districts: graded by the shares of their grid cells, or by points as cells are.
  function aggregateLine(ag) {
    if (ag.method !== 'cells') { return T.aggregate_points; }
    var floors = Object.keys(ag.hazard_floors).filter(function (g) { return ag.hazard_floors[g]; })
      .map(function (g) { return (cfg.grades[g] || g) + ' → ' + cfg.levels[ag.hazard_floors[g]]; });
    return T.aggregate + '：' + [T.cells_red + ' ≥ ' + pct(ag.red_share) + ' → ' + cfg.levels.red,
      T.cells_orange + ' ≥ ' + pct(ag.orange_share) + ' → ' + cfg.levels.orange,
      T.cells_yellow + ' ≥ ' + pct(ag.yellow_share) + ' → ' + cfg.levels.yellow].concat(floors)
      .join('；');
  }

  function showRule(rule) {
    var en = cfg.lang === 'en';
    var pw = rule.point_weights, hw = rule.hazard_weights, th = rule.thresholds;
    var lines = [
      T.score + ' = Σ ' + T.risk_points + ' (' + Object.keys(pw).map(function (k) {
        return cfg.levels[k].slice(0, en ? 99 : 2) + ' ' + pw[k]; }).join(' · ') + ')',
      '+ Σ ' + T.major_hazards + ' (' + Object.keys(hw).map(function (k) {
        return (cfg.grades[k] || k).replace(en ? ' major hazard' : '重大危险源', '') + ' ' + hw[k];
      }).join(' · ') + ')',
      '+ ' + T.vulnerable + ' × ' + rule.vulnerable_weight,
      Object.keys(th).map(function (k) { return cfg.levels[k] + ' ≥ ' + th[k]; }).join('；'),
      T.floor_level + '：' + Object.keys(rule.floors.hazards).map(function (g) {
        var lv = rule.floors.hazards[g];
        return (cfg.grades[g] || g) + ' → ' + (lv ? cfg.levels[lv] : '—'); }).join('；')
    ];
    if (rule.aggregate) { lines.push(aggregateLine(rule.aggregate)); }
    var editor = document.getElementById('risk-rule-json');
    if (editor && !editor.value) {
      editor.value = JSON.stringify({ thresholds: rule.thresholds, point_weights: rule.point_weights,
        hazard_weights: rule.hazard_weights, vulnerable_weight: rule.vulnerable_weight,
        floors: rule.floors, aggregate: rule.aggregate }, null, 1);
    }
    document.getElementById('risk-rule-body').innerHTML = '<ul>' + lines.map(function (l) {
      return '<li>' + esc(l) + '</li>'; }).join('') + '</ul><p class="muted small">' + esc(rule.source) + '</p>';
  }

  function drawAreas(fc) {
    if (state.layer) { map.removeLayer(state.layer); }
    state.layer = L.geoJSON(fc, {
      renderer: canvas,
      style: function (f) {
        return { color: '#37474f', weight: fc.unit === 'grid' || fc.unit === 'h3' ? 0.5 : 1.5,
          opacity: 0.7, fillColor: f.properties.colour, fillOpacity: 0.6 };
      },
      onEachFeature: function (f, layer) {
        layer.on('click', function () { explain(f.properties.id, layer); });
      }
    }).addTo(map);
    if (state.hazards) { state.hazards.bringToFront && state.hazards.bringToFront(); }
    if (!fitted && fc.features.length) {
      map.fitBounds(state.layer.getBounds(), { padding: [20, 20], animate: false });
      fitted = true;
    }
  }

  function load() {
    state.ready = false;
    status(T.loading);
    resWrap.hidden = unitSel.value !== 'h3';
    explainEl.hidden = true;
    return getJSON(API + query()).then(function (fc) {
      state.data = fc;
      setCounts(fc);
      showRule(fc.rule);
      drawAreas(fc);
      status(fc.features.length ? '' : T.empty_unit);
      state.loads += 1;
      state.ready = true;
    }).catch(function (err) {
      state.error = String(err.message || err);
      status(T.failed + '：' + state.error, true);
    });
  }

  function hazardIcon(level) {
    return L.divIcon({ className: 'hazard-icon', iconSize: [18, 18], iconAnchor: [9, 12],
      html: '<span>' + esc(level) + '</span>' });
  }
  // A cluster shows how many hazards it holds and takes the class of its highest grade (1 = 一级).
  function hazardCluster(cluster) {
    var top = Math.min.apply(null, cluster.getAllChildMarkers().map(function (m) {
      return Number(m.feature.properties.level) || 4;
    }));
    return L.divIcon({ className: 'hazard-cluster hazard-cluster-' + top, iconSize: [30, 30],
      html: '<span>' + cluster.getChildCount() + '</span>' });
  }
  function loadHazards() {
    return getJSON(API + '/hazards').then(function (fc) {
      var count = document.querySelector('[data-count="hazards"]');
      if (count) { count.textContent = fc.features.length; }
      // Clustered: 47 hazards in a few industrial parks drew as overlapping digits.
      var markers = L.geoJSON(fc, {
        pointToLayer: function (f, latlng) {
          return L.marker(latlng, { icon: hazardIcon(f.properties.level), zIndexOffset: 1000 });
        },
        onEachFeature: function (f, layer) {
          var p = f.properties;
          layer.bindPopup('<div class="popup"><h4>' + esc(p.name) + '</h4><table>' +
            '<tr><th>' + esc(T.grade) + '</th><td>' + esc(cfg.grades[String(p.level)] || p.level) + '</td></tr>' +
            '<tr><th>' + esc(T.r_value) + '</th><td>' + esc(p.r_value) + '</td></tr>' +
            '<tr><th>' + esc(T.enterprise) + '</th><td>' + esc(p.enterprise) + '</td></tr></table></div>');
        }
      });
      state.hazards = L.markerClusterGroup({ maxClusterRadius: 40, showCoverageOnHover: false,
        spiderfyOnMaxZoom: true, iconCreateFunction: hazardCluster });
      state.hazards.addLayers(markers.getLayers());
      if (hazardBox.checked) { state.hazards.addTo(map); }
    }).catch(function (err) { state.error = String(err.message || err); });
  }

  function row(cells) {
    return '<tr>' + cells.map(function (c, i) {
      return '<td' + (i > 0 ? ' class="num"' : '') + '>' + esc(c) + '</td>';
    }).join('') + '</tr>';
  }
  function level(lv) {
    return '<span class="lv-badge lv-' + esc(lv) + '" style="background:' + esc(cfg.colours[lv]) + '">' +
      esc(cfg.levels[lv]) + '</span>';
  }

  // A street or district graded by its cells: cells by colour, the share tests, floor, raise.
  function cellsExplain(e, en) {
    var html = '<table><tbody><tr><td>' + esc(T.share_level) + '</td><td class="num">' + level(e.share_level) + '</td></tr>' +
      '<tr><td>' + esc(T.hazard_floor) + '</td><td class="num">' + level(e.floor_level) + '</td></tr>' +
      row([T.raise, e.raise_steps + ' ' + T.steps]) + '</tbody></table>';
    html += '<h4>' + esc(T.grid_cells) + ' ' + esc(e.cells.total) + '</h4><table><thead><tr><th></th><th>' +
      esc(T.count) + '</th><th>' + esc(T.share) + '</th></tr></thead><tbody>';
    Object.keys(cfg.levels).forEach(function (lv) {
      html += row([cfg.levels[lv], e.cells.counts[lv], pct(e.cells.shares[lv])]);
    });
    html += '</tbody></table><ul>' + e.share_tests.map(function (t) {
      return '<li>' + esc(en ? t.text_en : t.text_zh) + '</li>';
    }).join('') + '</ul>';
    return html;
  }

  function renderExplain(e) {
    var en = cfg.lang === 'en';
    var html = '<h3><span>' + esc(T.why) + '：' + esc(e.name) + '</span>' +
      '<button type="button" class="btn btn-small" id="risk-explain-close">' + esc(T.close) + '</button></h3>';
    html += '<p>' + level(e.level) + '</p>';
    html += '<p class="summary" id="risk-explain-summary">' + esc(en ? e.summary_en : e.summary_zh) + '</p>';
    if (e.method === 'cells') {
      html += cellsExplain(e, en);
    } else {
      html += '<table><tbody>' +
        row([T.score, e.score]) + '<tr><td>' + esc(T.score_level) + '</td><td class="num">' + level(e.score_level) + '</td></tr>' +
        '<tr><td>' + esc(T.floor_level) + '</td><td class="num">' + level(e.floor_level) + '</td></tr>' +
        row([T.raise, e.raise_steps + ' ' + T.steps]) + '</tbody></table>';
    }
    if (e.method !== 'cells' && e.contributions.length) {
      html += '<h4>' + esc(T.contributions) + '</h4><table><thead><tr><th></th><th>' + esc(T.count) +
        '</th><th>' + esc(T.weight) + '</th><th>' + esc(T.score) + '</th></tr></thead><tbody>';
      e.contributions.forEach(function (c) {
        html += row([en ? c.label_en : c.label_zh, c.count, c.weight, c.score]);
      });
      html += '</tbody></table>';
    }
    if (e.hard_rules.length) {
      html += '<ul>' + e.hard_rules.map(function (n) {
        return '<li>' + esc(en ? n.text_en : n.text_zh) + '</li>';
      }).join('') + '</ul>';
    }
    if (e.grid_cells && e.grid_cells.length) {
      html += '<h4>' + esc(T.severe_cells) + '</h4><ul>' + e.grid_cells.slice(0, 10).map(function (c) {
        return '<li><span class="level-dot lv-' + esc(c.level) + '"></span>' + esc(c.name) + '</li>';
      }).join('') + '</ul>';
    }
    if (e.major_hazards.length) {
      html += '<h4>' + esc(T.major_hazards) + '</h4><ul>' + e.major_hazards.map(function (h) {
        return '<li>' + esc(h.enterprise || '') + ' ' + esc(h.name) + '（' + esc(cfg.grades[String(h.level)] || h.level) + '，R=' + esc(h.r_value) + '）</li>';
      }).join('') + '</ul>';
    }
    if (e.risk_points.length) {
      html += '<h4>' + esc(T.risk_points) + '</h4><ul>' + e.risk_points.slice(0, 10).map(function (p) {
        return '<li><span class="level-dot lv-' + esc(p.level) + '"></span>' + esc(p.name) + '</li>';
      }).join('') + '</ul>';
    }
    if (e.vulnerable_targets.length) {
      html += '<h4>' + esc(T.vulnerable) + '</h4><ul>' + e.vulnerable_targets.map(function (v) {
        return '<li>' + esc(v.name) + ' ← ' + esc(v.hazard) + '（' + esc(v.distance_m) + ' m）</li>';
      }).join('') + '</ul>';
    }
    if (e.signals.length) {
      html += '<h4>' + esc(T.signals) + '</h4><ul>' + e.signals.map(function (s) {
        return '<li>' + esc(s.source) + ' ' + esc(s.source_ref) + ' · ' + esc(cfg.levels[s.severity] || s.severity) + ' · +' + esc(s.raise_steps) + '</li>';
      }).join('') + '</ul>';
    }
    explainEl.innerHTML = html;
    explainEl.hidden = false;
    document.getElementById('risk-explain-close').addEventListener('click', function () {
      explainEl.hidden = true;
    });
  }

  function explain(id, layer) {
    var url = API + '/explain?unit=' + encodeURIComponent(state.data.unit) + '&id=' + encodeURIComponent(id);
    return getJSON(url).then(function (e) {
      state.explain = e;
      renderExplain(e);
      if (layer && layer.setStyle) {
        if (state.selected && state.selected !== layer) { state.layer.resetStyle(state.selected); }
        layer.setStyle({ weight: 3, color: '#000' });
        state.selected = layer;
      }
    }).catch(function (err) { status(T.failed + '：' + (err.message || err), true); });
  }
  state.explainArea = explain;

  // Rule editing (admin and risk analyst of the city): PUT the JSON, show 422 messages.
  var ruleForm = document.getElementById('risk-rule-form');
  function saveRule(body) {
    var errors = document.getElementById('risk-rule-errors');
    var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
    errors.textContent = '';
    return fetch('/api/v1/risk/area-rule', { method: 'PUT', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRF-Token': csrf },
      body: body }).then(function (r) {
      return r.json().then(function (out) {
        if (!r.ok) {
          var en = cfg.lang === 'en';
          var lines = (out.detail || [out]).map(function (d) { return en ? d.message_en : d.message; });
          errors.innerHTML = lines.map(function (l) { return '<div>' + esc(l) + '</div>'; }).join('');
          return;
        }
        return load().then(function () { status(T.saved); });
      });
    });
  }
  if (ruleForm) {
    ruleForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var text = document.getElementById('risk-rule-json').value;
      try { JSON.parse(text); } catch (e) {
        document.getElementById('risk-rule-errors').textContent = 'JSON: ' + e.message;
        return;
      }
      saveRule(text);
    });
    document.getElementById('risk-rule-reset').addEventListener('click', function () { saveRule('{}'); });
  }

  unitSel.addEventListener('change', function () { fitted = false; load(); });
  resSel.addEventListener('change', load);
  hazardBox.addEventListener('change', function () {
    if (!state.hazards) { return; }
    if (hazardBox.checked) { state.hazards.addTo(map); } else { map.removeLayer(state.hazards); }
  });
  var toggle = document.querySelector('.map-panel-toggle');
  if (toggle) {
    toggle.addEventListener('click', function () {
      var panel = document.getElementById('map-panel');
      panel.classList.toggle('collapsed');
      toggle.setAttribute('aria-expanded', String(!panel.classList.contains('collapsed')));
    });
  }
  loadHazards();
  load();
}());
