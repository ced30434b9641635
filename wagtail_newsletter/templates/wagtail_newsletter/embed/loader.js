/* wagtail_newsletter: inserts a newsletter subscription form (an iframe) where this script stands. */
(function () {
  "use strict";
  var config = {{ config|safe }};
  var origin = new URL(config.page).origin;
  var script = document.currentScript;
  if (!script) {
    // Very old browsers: find our own tag by its address.
    var scripts = document.querySelectorAll("script[src]");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (scripts[i].src === config.script && !scripts[i].getAttribute("data-wn-done")) { script = scripts[i]; break; }
    }
  }
  if (!script || !script.parentNode) return;
  script.setAttribute("data-wn-done", "1");
  var frame = document.createElement("iframe");
  frame.src = config.page;
  frame.title = config.title;
  frame.setAttribute("scrolling", "no");
  frame.style.cssText = "display:block;width:100%;max-width:34rem;border:0;overflow:hidden;height:" + config.height + "px";
  script.parentNode.insertBefore(frame, script);
  window.addEventListener("message", function (event) {
    // Only our own page, in our own frame, saying its height; anything else is ignored.
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || typeof data !== "object" || data.type !== "wagtail-newsletter:resize") return;
    var height = data.height;
    if (typeof height !== "number" || !isFinite(height) || height < 0) return;
    frame.style.height = Math.min(Math.ceil(height), 10000) + "px";
  });
})();
