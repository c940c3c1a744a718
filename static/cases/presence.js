/* Who else has this case open: the case socket sends the list (cases.consumers), shown above the case. */
(function () {
  "use strict";
  document.body.addEventListener("case-presence", function (event) {
    var box = document.querySelector("[data-presence]");
    if (!box) return;
    var names = (event.detail && event.detail.viewers) || [];
    box.querySelector("[data-presence-names]").textContent = names.join(", ");
    box.hidden = names.length === 0;
    document.body.dataset.viewers = names.join(",");
  });
})();
