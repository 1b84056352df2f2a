// Upload menu: opens on click, closes on Escape or a click elsewhere; keyboard-usable.
document.querySelectorAll(".dropdown").forEach(function (dd) {
  var button = dd.querySelector(".menu-button");
  function set(open) { dd.classList.toggle("open", open); button.setAttribute("aria-expanded", String(open)); }
  button.addEventListener("click", function () { set(!dd.classList.contains("open")); });
  dd.addEventListener("keydown", function (e) { if (e.key === "Escape") { set(false); button.focus(); } });
  document.addEventListener("click", function (e) { if (!dd.contains(e.target)) set(false); });
});
