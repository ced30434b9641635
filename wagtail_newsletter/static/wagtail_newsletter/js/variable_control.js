/* A Draftail toolbar control inserting a personalisation variable ({{ first_name|default:"there" }}) at the cursor.
 *
 * The variables come from the editor's "Variables" side panel (its rows carry each variable's label and tag), so the
 * list always matches the registry, custom fields included. No build step: plain React.createElement calls on the
 * React and DraftJS that Wagtail exposes on window.
 */
(function () {
  'use strict';

  function readVariables() {
    const rows = document.querySelectorAll('[data-newsletter-variables] [data-variable]');
    return Array.from(rows).map(function (row) {
      const button = row.querySelector('[data-w-clipboard-value-param]');
      const label = row.querySelector('strong');
      return {
        name: row.getAttribute('data-variable'),
        tag: button ? button.getAttribute('data-w-clipboard-value-param') : '',
        label: label ? label.textContent.trim() : row.getAttribute('data-variable'),
      };
    }).filter(function (variable) { return variable.tag; });
  }

  function insertLabel() {
    const panel = document.querySelector('[data-newsletter-variables]');
    return (panel && panel.getAttribute('data-insert-label')) || 'Insert a variable';
  }

  function VariableControl(props) {
    const React = window.React;
    const DraftJS = window.DraftJS;
    const variables = readVariables();
    if (!variables.length) {
      return null;
    }
    const label = insertLabel();

    function insert(event) {
      const tag = event.target.value;
      event.target.value = '';
      if (!tag) {
        return;
      }
      const state = props.getEditorState();
      const content = DraftJS.Modifier.replaceText(state.getCurrentContent(), state.getSelection(), tag);
      const pushed = DraftJS.EditorState.push(state, content, 'insert-characters');
      props.onChange(DraftJS.EditorState.forceSelection(pushed, content.getSelectionAfter()));
    }

    return React.createElement(
      'select',
      {
        className: 'w-newsletter-variable-control',
        'aria-label': label,
        title: label,
        defaultValue: '',
        onChange: insert,
        'data-newsletter-variable-control': '',
      },
      React.createElement('option', { value: '' }, '{{ }} ' + label),
      variables.map(function (variable) {
        return React.createElement('option', { key: variable.name, value: variable.tag }, variable.label);
      }),
    );
  }

  window.draftail.registerPlugin({ type: 'newsletter-variable', inline: VariableControl }, 'controls');
})();
