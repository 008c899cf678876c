// Sensor time series drawn as SVG by hand, with the alarm thresholds as coloured lines.
(function () {
  const svg = document.getElementById('ts-chart');
  if (!svg) return;
  const NS = 'http://www.w3.org/2000/svg';
  const W = 900, H = 300, L = 60, R = 10, T = 10, B = 30;
  const colours = { blue: '#2b83ba', yellow: '#e6c200', orange: '#f17c0e', red: '#d7191c' };
  const thresholds = JSON.parse(svg.dataset.thresholds || '{}');
  const alarmPoints = JSON.parse(svg.dataset.alarms || '[]');  // where the sensor's alarms began

  function el(name, attrs, text) {
    const e = document.createElementNS(NS, name);
    Object.entries(attrs).forEach(([k, v]) => e.setAttribute(k, v));
    if (text != null) e.textContent = text;
    svg.appendChild(e); return e;
  }

  // Axis numbers people read: 1290 rather than 1.29e+3, at most three significant digits.
  function tick(v) { return String(Number(v.toPrecision(3))); }
  // Beijing time on a 24-hour clock, whatever the browser's own locale.
  const stamp = { timeZone: 'Asia/Shanghai', hour12: false, month: '2-digit', day: '2-digit',
                  hour: '2-digit', minute: '2-digit' };

  function draw(points, from, to) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    // Aggregated points carry their minute's or hour's min and max: the band shows a spike that
    // crossed a threshold even where the average did not.
    const values = points.flatMap((p) => [p.min != null ? p.min : p.value, p.max != null ? p.max : p.value]);
    const abs = thresholds.direction === 'abs';
    const below = values.length && Math.min(...values) < 0;
    Object.keys(colours).forEach((k) => {
      if (thresholds[k] == null) return;
      values.push(thresholds[k]);
      if (abs && below) values.push(-thresholds[k]);
    });
    let lo = Math.min(...values), hi = Math.max(...values);
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (hi === lo) { hi += 1; lo -= 1; }
    const pad = (hi - lo) * 0.08; lo -= pad; hi += pad;
    const x = (t) => L + (t - from) / (to - from) * (W - L - R);
    const y = (v) => T + (hi - v) / (hi - lo) * (H - T - B);
    el('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: 'none', stroke: '#ccc' });
    for (let i = 0; i <= 4; i++) {
      const v = lo + (hi - lo) * i / 4;
      el('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#666' }, tick(v));
    }
    for (let i = 0; i <= 4; i++) {
      const t = from + (to - from) * i / 4;
      el('text', { x: x(t), y: H - 8, 'text-anchor': 'middle', 'font-size': 11, fill: '#666' },
         new Date(t).toLocaleString('zh-CN', stamp));
    }
    Object.entries(colours).forEach(([k, c]) => {
      const v = thresholds[k];
      if (v == null) return;
      el('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: c, 'stroke-dasharray': '6 4', 'class': 'threshold threshold-' + k });
      if (abs && below) el('line', { x1: L, x2: W - R, y1: y(-v), y2: y(-v), stroke: c, 'stroke-dasharray': '6 4', 'class': 'threshold threshold-' + k });
    });
    if (!points.length) {
      el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', fill: '#999' }, '—');
      return;
    }
    if (points.some((p) => p.min != null)) {
      const top = points.map((p, i) => (i ? 'L' : 'M') + x(p.ts).toFixed(1) + ' ' + y(p.max).toFixed(1));
      const bottom = points.slice().reverse().map((p) => 'L' + x(p.ts).toFixed(1) + ' ' + y(p.min).toFixed(1));
      el('path', { d: top.concat(bottom).join(' ') + ' Z', fill: '#9db4d6', 'fill-opacity': 0.45, stroke: 'none', 'class': 'range' });
    }
    const d = points.map((p, i) => (i ? 'L' : 'M') + x(p.ts).toFixed(1) + ' ' + y(p.value).toFixed(1)).join(' ');
    el('path', { d: d, fill: 'none', stroke: '#333', 'stroke-width': 1.5, 'class': 'series' });
    alarmPoints.filter((a) => a.ts >= from && a.ts <= to && a.value >= lo && a.value <= hi)
      .forEach((a) => el('circle', { cx: x(a.ts), cy: y(a.value), r: 5, fill: colours[a.level] || '#888',
                                     stroke: '#fff', 'stroke-width': 1.5, 'class': 'alarm-point' }));
  }

  async function load(hours) {
    const to = Date.now() + 60000, from = to - hours * 3600000;
    const resp = await fetch('/api/v1/monitoring/sensors/' + svg.dataset.sensor + '/readings?from=' + from + '&to=' + to, { credentials: 'same-origin' });
    if (!resp.ok) return;
    const body = await resp.json();
    draw(body.points, from, to);
  }
  document.querySelectorAll('[data-hours]').forEach((b) => b.addEventListener('click', () => load(+b.dataset.hours)));
  load(6);
})();
