// The inspection form on a phone: fill the hidden lon/lat from the device's position.
(function () {
  document.querySelectorAll(".enf-locate").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var form = btn.closest("form");
      var out = form.querySelector(".enf-where");
      if (!navigator.geolocation) { out.textContent = "—"; return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        var lon = pos.coords.longitude.toFixed(6), lat = pos.coords.latitude.toFixed(6);
        form.querySelector("input[name=lon]").value = lon;
        form.querySelector("input[name=lat]").value = lat;
        out.textContent = lon + ", " + lat;
      }, function () { out.textContent = "—"; }, { enableHighAccuracy: true, timeout: 10000 });
    });
  });
  // The violation fields matter only for a violation.
  var form = document.getElementById("finding-form");
  if (form) {
    var box = form.querySelector(".enf-violation");
    var sync = function () {
      var kind = form.querySelector("input[name=kind]:checked");
      box.hidden = !kind || kind.value !== "violation";
    };
    form.querySelectorAll("input[name=kind]").forEach(function (r) { r.addEventListener("change", sync); });
    sync();
  }
})();
