/* Report page: fill the location from the phone's position (the map picker shows it). */
(function () {
  'use strict';
  var button = document.getElementById('use-gps');
  var status = document.getElementById('gps-status');
  if (!button) { return; }
  if (!navigator.geolocation) { button.disabled = true; return; }
  button.addEventListener('click', function () {
    status.textContent = '…';
    navigator.geolocation.getCurrentPosition(function (pos) {
      var lon = document.getElementById('r-lon'), lat = document.getElementById('r-lat');
      lon.value = pos.coords.longitude.toFixed(6);
      lat.value = pos.coords.latitude.toFixed(6);
      lon.dispatchEvent(new Event('change'));
      status.textContent = '✓ ±' + Math.round(pos.coords.accuracy) + ' m';
    }, function (err) {
      status.textContent = err.message;
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
}());
