/* The automation step form shows only the fields of the chosen kind of step ("Wait": wait and unit; "Send a
 * newsletter": the newsletter…). The fields of each kind come from the kind's <select> (data-automation-step-kind,
 * written by the admin from one Python table). Without JavaScript every field stays visible; hidden fields keep
 * their values and are ignored by the step.
 */
(function () {
  'use strict';

  function wrapperOf(form, prefix, name) {
    const input = form.querySelector('[name="' + prefix + name + '"]');
    return input ? input.closest('.w-field__wrapper') : null;
  }

  function update(select) {
    const kinds = JSON.parse(select.getAttribute('data-automation-step-kind'));
    const prefix = select.name.replace(/kind$/, '');
    const form = select.closest('[data-inline-panel-child]') || select.form;
    if (!form) { return; }
    const shown = new Set(kinds.fields[select.value] || []);
    const condition = form.querySelector('[name="' + prefix + 'condition"]');
    if (shown.has('segment') && condition && kinds.segment_conditions.indexOf(condition.value) < 0) {
      shown.delete('segment');
    }
    kinds.all.forEach(function (name) {
      const wrapper = wrapperOf(form, prefix, name);
      if (wrapper) { wrapper.hidden = !shown.has(name); }
    });
  }

  function updateAll() {
    document.querySelectorAll('select[data-automation-step-kind]').forEach(update);
  }

  document.addEventListener('change', function (event) {
    const target = event.target;
    if (!(target instanceof HTMLSelectElement)) { return; }
    if (target.hasAttribute('data-automation-step-kind')) { update(target); return; }
    if (/-condition$/.test(target.name)) {
      const kind = document.querySelector('[name="' + target.name.replace(/condition$/, 'kind') + '"]');
      if (kind && kind.hasAttribute('data-automation-step-kind')) { update(kind); }
    }
  });
  document.addEventListener('w-formset:added', updateAll);
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', updateAll);
  } else {
    updateAll();
  }
})();
