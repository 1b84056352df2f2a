// Error pages: "Go back" returns to the previous page in this tab's history (keeping what was
// typed there); without script, or with no history, its link goes to the referring page or home.
(function () {
  "use strict";
  var back = document.querySelector("[data-go-back]");
  if (!back || window.history.length < 2) return;
  back.addEventListener("click", function (ev) {
    ev.preventDefault();
    window.history.back();
  });
})();
