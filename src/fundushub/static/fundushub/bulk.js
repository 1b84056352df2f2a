// Metadata forms: the lab unit list follows the chosen hospital; the words beside the
// mydriatic switch toggle it. Without JavaScript every lab unit is listed (the server checks).
(function () {
  "use strict";

  function filterLabUnits(form) {
    var select = form.querySelector("select[name=lab_unit]");
    var chosen = form.querySelector("input[name=hospital]:checked");
    if (!select) return;
    var hospital = chosen ? chosen.value : "";
    select.querySelectorAll("optgroup").forEach(function (group) {
      var show = !hospital || group.dataset.hospital === hospital;
      group.hidden = !show;
      group.disabled = !show;
    });
    var option = select.selectedOptions[0];
    if (option && option.parentElement.tagName === "OPTGROUP" && option.parentElement.disabled) {
      select.value = "";
    }
  }

  document.querySelectorAll("form[data-lab-unit-filter]").forEach(function (form) {
    form.querySelectorAll("input[name=hospital]").forEach(function (radio) {
      radio.addEventListener("change", function () { filterLabUnits(form); });
    });
    filterLabUnits(form);
  });

  var toggle = document.getElementById("mydriatic");
  if (toggle) {
    [["mydriatic-off", false], ["mydriatic-on", true]].forEach(function (pair) {
      var word = document.getElementById(pair[0]);
      if (word) word.addEventListener("click", function () { toggle.checked = pair[1]; toggle.focus(); });
    });
  }
})();
