/* Live progress of a campaign page: polls the JSON at [data-campaign-progress][data-url] every data-interval ms,
   updates the bar and the figures, and stops once the campaign has finished. When the status changes (sending →
   sent, paused by the relay…) the page reloads, so buttons and notes match the new state. No text lives here: the
   template supplies the rate format; numbers use the page's language. */
(function () {
  'use strict';

  function formatDuration(seconds) {
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var rest = seconds % 60;
    return hours + ':' + String(minutes).padStart(2, '0') + ':' + String(rest).padStart(2, '0');
  }

  function start(section) {
    var url = section.dataset.url;
    var interval = parseInt(section.dataset.interval, 10) || 2000;
    var status = section.dataset.status;
    var language = document.documentElement.lang || undefined;
    var integer = new Intl.NumberFormat(language);
    var decimal = new Intl.NumberFormat(language, { maximumFractionDigits: 1 });
    var bar = section.querySelector('[data-progress-bar]');

    function set(name, text) {
      var element = section.querySelector('[data-progress="' + name + '"]');
      if (element) element.textContent = text;
    }

    function show(data) {
      var total = data.total || 1;
      ['sent', 'failed', 'skipped'].forEach(function (name) {
        var segment = section.querySelector('[data-segment="' + name + '"]');
        if (segment) segment.style.width = ((100 * data[name]) / total).toFixed(2) + '%';
      });
      bar.setAttribute('aria-valuenow', String(data.percent));
      set('percent', decimal.format(data.percent));
      set('status_label', data.status_label);
      ['queued', 'sending', 'sent', 'failed', 'skipped', 'remaining'].forEach(function (name) {
        set(name, integer.format(data[name]));
      });
      set('rate', data.rate_per_minute === null ? '—'
        : section.dataset.rateFormat.replace('{rate}', decimal.format(data.rate_per_minute)));
      set('eta', data.eta_seconds === null ? '—' : formatDuration(data.eta_seconds));
    }

    function poll() {
      var headers = { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' }; // refusals: 403, no redirect
      fetch(url, { credentials: 'same-origin', headers: headers })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.json();
        })
        .then(function (data) {
          show(data);
          if (data.status !== status) {
            window.location.reload();
          } else if (!data.finished) {
            window.setTimeout(poll, interval);
          }
        })
        .catch(function () {
          window.setTimeout(poll, interval * 5); // the server is busy or restarting: try again later
        });
    }

    if (section.dataset.finished !== 'true') window.setTimeout(poll, interval);
  }

  document.querySelectorAll('[data-campaign-progress]').forEach(start);
})();
