// Optional: the browser's location as the report's pin. The form works without it.
(function () {
  var button = document.getElementById("pin");
  if (!button || !navigator.geolocation) return;
  var status = document.getElementById("pin-status");
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(function (position) {
      document.getElementById("lat").value = position.coords.latitude.toFixed(6);
      document.getElementById("lon").value = position.coords.longitude.toFixed(6);
      status.textContent = button.getAttribute("data-set");
    }, function () {
      status.textContent = button.getAttribute("data-failed");
    }, { enableHighAccuracy: true, timeout: 10000 });
  });
})();
