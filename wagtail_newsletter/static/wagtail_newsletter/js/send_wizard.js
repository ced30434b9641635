/* Step 1 of the send wizard: the recipient count follows the choice as it changes (a JSON request to
   [data-recipient-count][data-url]), and the group list is only shown when sending to chosen groups. The server
   counts again when the form is submitted; this is only a preview. */
(function () {
  'use strict';

  var output = document.querySelector('[data-recipient-count]');
  if (!output) return;
  var form = output.closest('form');
  var value = output.querySelector('[data-recipient-count-value]');
  var includeField = form.querySelector('[name="include_groups"]');
  var includeWrapper = includeField && includeField.closest('.w-field__wrapper');
  var segmentsField = form.querySelector('[name="include_segments"]');
  var segmentsWrapper = segmentsField && segmentsField.closest('.w-field__wrapper');
  var number = new Intl.NumberFormat(document.documentElement.lang || undefined);
  var latest = 0;

  function audience() {
    var checked = form.querySelector('[name="audience"]:checked');
    return checked ? checked.value : 'all';
  }

  function refresh() {
    if (includeWrapper) includeWrapper.hidden = audience() !== 'groups';
    if (segmentsWrapper) segmentsWrapper.hidden = audience() !== 'groups';
    var params = new URLSearchParams();
    params.append('audience', audience());
    var boxes = '[name="include_groups"]:checked, [name="exclude_groups"]:checked, ' +
      '[name="include_segments"]:checked, [name="exclude_segments"]:checked';
    form.querySelectorAll(boxes).forEach(function (box) {
      params.append(box.name, box.value);
    });
    var request = ++latest;
    fetch(output.dataset.url + '?' + params.toString(), {
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'X-Requested-With': 'XMLHttpRequest' },
    })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (request === latest && typeof data.count === 'number') value.textContent = number.format(data.count);
      })
      .catch(function () {});
  }

  form.addEventListener('change', function (event) {
    var names = ['audience', 'include_groups', 'exclude_groups', 'include_segments', 'exclude_segments'];
    if (names.indexOf(event.target.name) !== -1) refresh();
  });
  refresh();
})();
