// The operations-centre wall: numbers and lists refresh from server-sent events; the clock ticks.
(function () {
  "use strict";
  var body = document.body;
  var lang = body.getAttribute("data-lang") || "zh";
  var texts = JSON.parse(document.getElementById("wall-texts").textContent);
  var clock = document.getElementById("clock");
  var live = document.getElementById("live");

  function tick() {
    var d = new Date(Date.now() + 8 * 3600 * 1000); // Beijing time
    clock.textContent = d.toISOString().slice(0, 19).replace("T", " ");
  }
  tick();
  setInterval(tick, 1000);

  function get(obj, path) {
    return path.split(".").reduce(function (o, k) { return o == null ? o : o[k]; }, obj);
  }

  function fill(list, items, cls, label, badge) {
    if (!list) return;
    list.textContent = "";
    if (!items || !items.length) {
      var li = document.createElement("li");
      li.className = "none";
      li.textContent = texts.none;
      list.appendChild(li);
      return;
    }
    items.slice(0, 6).forEach(function (it) {
      var li = document.createElement("li");
      li.className = cls(it);
      if (badge) {
        var em = document.createElement("em");
        em.textContent = badge(it);
        li.appendChild(em);
      } else {
        li.appendChild(document.createElement("i"));
      }
      li.appendChild(document.createTextNode(label(it)));
      list.appendChild(li);
    });
  }

  function apply(v) {
    document.querySelectorAll("[data-v]").forEach(function (el) {
      var x = get(v, el.getAttribute("data-v"));
      el.textContent = x == null ? 0 : x;
    });
    fill(document.querySelector('[data-list="warnings"]'), v.warnings && v.warnings.items,
      function (w) { return "lv-" + w.level; }, function (w) { return w.headline; });
    fill(document.querySelector('[data-list="incidents"]'), v.incidents && v.incidents.items,
      function (i) { return "rl-" + (i.response_level || "none"); }, function (i) { return i.title; },
      function (i) { return lang === "en" ? i.level_en : i.level_zh; });
    fill(document.querySelector('[data-list="indicators"]'), v.indicators && v.indicators.items,
      function (i) { return "st-" + i.status; },
      function (i) { return lang === "en" ? i.name_en : i.name_zh; });
    body.setAttribute("data-updated", v.at);
  }

  if (window.EventSource) {
    var es = new EventSource(body.getAttribute("data-stream"));
    es.onmessage = function (e) {
      live.classList.remove("off");
      apply(JSON.parse(e.data));
    };
    es.onerror = function () { live.classList.add("off"); };
  }
  // The map colours change slowly: reload the whole wall every 15 minutes.
  setTimeout(function () { location.reload(); }, 15 * 60 * 1000);
})();
