// Show a follow-up question only when the answer before it makes it apply (e.g. the date only after "Yes").
// Hidden questions are disabled so they are not sent; without JavaScript every question shows and the server
// decides which apply.
(function () {
  "use strict";
  var form = document.getElementById("screening-form");
  if (!form) return;
  var blocks = Array.prototype.slice.call(form.querySelectorAll("[data-show-when]"));

  function checkedValue(name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input && !input.disabled ? input.value : null;
  }

  function update() {
    // Parents come before children in document order, so a hidden parent hides its children too.
    blocks.forEach(function (block) {
      var rule = block.getAttribute("data-show-when").split("=");
      var show = checkedValue(rule[0]) === rule[1];
      block.hidden = !show;
      block.querySelectorAll("input, select, textarea").forEach(function (input) {
        input.disabled = !show;
      });
    });
  }

  form.addEventListener("change", update);
  update();
})();
