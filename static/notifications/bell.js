/* finobs bell: the unread count, live over /ws/notifications/ (each message carries the count). */
(function () {
  "use strict";
  var bell = document.querySelector("[data-testid=bell]");
  if (!bell || !window.WebSocket) return;
  var count = bell.querySelector("[data-testid=bell-count]");
  var toast = document.querySelector("[data-bell-toast]");

  function show(unread) {
    count.textContent = String(unread);
    count.classList.toggle("empty", !unread);
    bell.setAttribute("aria-label", "Notifications: " + unread + " unread");
  }

  function connect(attempt) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + bell.dataset.liveUrl);
    socket.onopen = function () { bell.dataset.live = "open"; };
    socket.onmessage = function (message) {
      var data = {};
      try { data = JSON.parse(message.data); } catch (e) { return; }
      if (typeof data.unread === "number") show(data.unread);
      if (data.type === "notification" && toast) {
        toast.textContent = data.title;
        toast.hidden = false;
        setTimeout(function () { toast.hidden = true; }, 8000);
      }
    };
    socket.onclose = function (event) {
      bell.dataset.live = "closed";
      if (event.code === 4401 || event.code === 4403) return;
      setTimeout(function () { connect(attempt + 1); }, Math.min(30000, 1000 * Math.pow(2, attempt)));
    };
  }
  connect(0);
})();
