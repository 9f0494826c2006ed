// The suggestion form's "use my location" button: fills the hidden lat/lng and
// clears the community picker (the server matches the point to a community).
(function () {
  var btn = document.getElementById("locate-btn");
  if (!btn || !navigator.geolocation) return;
  btn.classList.remove("js-only");
  btn.style.display = "inline-block";
  var status = document.getElementById("locate-status");
  btn.addEventListener("click", function () {
    status.textContent = status.dataset.asking;
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("id_lat").value = pos.coords.latitude.toFixed(6);
      document.getElementById("id_lng").value = pos.coords.longitude.toFixed(6);
      document.getElementById("id_jurisdiction").value = "";
      status.textContent = status.dataset.ok;
    }, function () { status.textContent = status.dataset.denied; }, {timeout: 10000, maximumAge: 60000});
  });
})();
