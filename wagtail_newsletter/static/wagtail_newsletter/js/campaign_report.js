/* Live campaign report: while the campaign is sending, polls the JSON at [data-campaign-report][data-url] every
   data-interval ms. The server first folds the latest events (within its time budget), then answers with the
   figures and the report's parts as HTML fragments, which replace [data-report-part] here; the click map reloads
   when the clicks change. Polling stops once the campaign is no longer sending. No text lives here. */
(function () {
  'use strict';

  function start(report) {
    var url = report.dataset.url;
    var interval = parseInt(report.dataset.interval, 10) || 5000;
    var clicks = null;

    function show(data) {
      Object.keys(data.html).forEach(function (name) {
        var part = report.querySelector('[data-report-part="' + name + '"]');
        if (part) part.innerHTML = data.html[name];
      });
      if (clicks !== null && data.stats.clicks !== clicks) {
        var frame = document.getElementById('click-map');
        if (frame) frame.src = frame.src; // the sandboxed map cannot be reloaded from here any other way
      }
      clicks = data.stats.clicks;
      report.dataset.live = data.live ? 'true' : 'false';
    }

    function poll() {
      var headers = { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' }; // refusals: 403
      fetch(url, { credentials: 'same-origin', headers: headers })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (data) {
          show(data);
          if (data.live) window.setTimeout(poll, interval);
        })
        .catch(function () {
          window.setTimeout(poll, interval * 5); // the server is busy or restarting: try again later
        });
    }

    if (report.dataset.live === 'true') window.setTimeout(poll, interval);
  }

  document.querySelectorAll('[data-campaign-report]').forEach(start);
})();
