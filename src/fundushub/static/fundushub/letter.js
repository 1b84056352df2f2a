// The result letter's Print button (hidden without JavaScript: the browser's own print works).
(function () {
  "use strict";
  var button = document.getElementById("print-letter");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
})();
