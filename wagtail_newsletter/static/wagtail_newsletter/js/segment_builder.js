/* The segment condition builder: edits the conditions' JSON (kept in the form's textarea, which is what is submitted)
   as a tree of "all of / any of" groups, conditions and "not" boxes, and asks the server for the live count and a
   sample of matching subscribers after each change. Without JavaScript the textarea itself stays editable. The server
   validates the conditions again on save; this is only an editor. */
(function () {
  'use strict';

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === 'text') node.textContent = attrs[key];
      else if (key === 'on') Object.keys(attrs.on).forEach(function (e) { node.addEventListener(e, attrs.on[e]); });
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function select(options, value, onChange, label) {
    var node = el('select', { 'aria-label': label || '', on: { change: function () { onChange(node.value); } } });
    options.forEach(function (option) {
      var item = el('option', { value: String(option[0]), text: option[1] });
      if (String(option[0]) === String(value)) item.selected = true;
      node.appendChild(item);
    });
    return node;
  }

  function input(type, value, onInput, label) {
    var node = el('input', { type: type, 'aria-label': label || '' });
    node.value = value === undefined || value === null ? '' : value;
    node.addEventListener('input', function () { onInput(node.value, node); });
    return node;
  }

  function Builder(root) {
    this.root = root;
    this.textarea = root.querySelector('[data-segment-json]');
    this.tree = root.querySelector('[data-segment-tree]');
    this.output = root.querySelector('[data-segment-count]');
    this.sample = root.querySelector('[data-segment-sample]');
    this.catalogue = JSON.parse(document.getElementById(root.dataset.catalogueId).textContent);
    this.t = this.catalogue.text;
    this.fields = {};
    this.catalogue.fields.forEach(function (f) { this.fields[f.name] = f; }, this);
    this.behaviours = {};
    this.catalogue.behaviours.forEach(function (b) { this.behaviours[b[0]] = b; }, this);
    var state;
    try { state = JSON.parse(this.textarea.value || '{}'); } catch (e) { return; }  // leave broken JSON to the textarea
    this.state = this.asGroup(state);
    this.textarea.hidden = true;
    this.latest = 0;
    this.render();
  }

  Builder.prototype.asGroup = function (node) {
    if (!node || !Object.keys(node).length) return { and: [] };
    if (node.and || node.or) return node;
    return { and: [node] };
  };

  Builder.prototype.changed = function (redraw) {
    var value = this.state.and && !this.state.and.length ? {} : this.state;
    this.textarea.value = JSON.stringify(value);
    if (redraw) this.render(); else this.count();
  };

  Builder.prototype.render = function () {
    this.tree.replaceChildren(this.group(this.state, null));
    this.count();
  };

  // A group: "All of these / Any of these" and its items; ``replace(node)`` swaps it in its parent.
  Builder.prototype.group = function (node, remove) {
    var self = this, kind = node.or ? 'or' : 'and', items = node[kind];
    var header = el('div', { class: 'wn-segment-group__header' }, [
      select([['and', this.t.and], ['or', this.t.or]], kind, function (value) {
        if (value !== kind) { node[value] = items; delete node[kind]; }
        self.changed(true);
      }, this.t.combine),
    ]);
    if (remove) header.appendChild(this.button(this.t.remove, remove));
    var list = el('ul', { class: 'wn-segment-group__items' });
    items.forEach(function (item, index) {
      list.appendChild(el('li', { class: 'wn-segment-item' }, [self.item(items, index)]));
    });
    var add = this.button(this.t.add, function () {
      items.push({ field: 'email', op: 'contains', value: '' });
      self.changed(true);
    });
    var addGroup = this.button(this.t.add_group, function () {
      items.push({ or: [{ field: 'email', op: 'contains', value: '' }] });
      self.changed(true);
    });
    return el('fieldset', { class: 'wn-segment-group' }, [header, list, el('div', {}, [add, addGroup])]);
  };

  Builder.prototype.button = function (text, onClick) {
    return el('button', { type: 'button', class: 'button button-small button-secondary', text: text,
      on: { click: onClick } });
  };

  // One item of a group: a "Not" box, then a nested group or a condition.
  Builder.prototype.item = function (items, index) {
    var self = this, negated = !!items[index].not, inner = negated ? items[index].not : items[index];
    function put(node) { items[index] = negated ? { not: node } : node; }
    var not = el('input', { type: 'checkbox', 'aria-label': this.t.not, on: { change: function () {
      negated = not.checked; put(inner); self.changed(true);
    } } });
    not.checked = negated;
    var remove = function () { items.splice(index, 1); self.changed(true); };
    var body = inner.and || inner.or ? this.group(inner, remove) : this.condition(inner, put, remove);
    return el('div', { class: 'wn-segment-item__row' }, [el('label', { class: 'wn-segment-not' },
      [not, document.createTextNode(' ' + this.t.not)]), body]);
  };

  Builder.prototype.condition = function (node, put, remove) {
    var self = this, type = node.groups ? 'groups' : node.behaviour ? 'behaviour' : 'field';
    var parts = [select([['field', this.t.field], ['groups', this.t.groups], ['behaviour', this.t.behaviour]], type,
      function (value) {
        var fresh = value === 'groups' ? { groups: 'any', ids: [] }
          : value === 'behaviour' ? { behaviour: 'opened', scope: {} } : { field: 'email', op: 'contains', value: '' };
        put(fresh); self.changed(true);
      }, this.t.kind)];
    parts = parts.concat(type === 'groups' ? this.groupsCondition(node)
      : type === 'behaviour' ? this.behaviourCondition(node) : this.fieldCondition(node));
    parts.push(this.button(this.t.remove, remove));
    return el('div', { class: 'wn-segment-condition' }, parts);
  };

  Builder.prototype.fieldCondition = function (node) {
    var self = this, field = this.fields[node.field] || this.catalogue.fields[0];
    var parts = [
      select(this.catalogue.fields.map(function (f) { return [f.name, f.label]; }), field.name, function (value) {
        node.field = value; node.op = self.fields[value].ops[0][0]; delete node.value; self.changed(true);
      }, this.t.field_name),
      select(field.ops, node.op, function (value) { node.op = value; delete node.value; self.changed(true); },
        this.t.operator),
    ];
    var op = node.op, kind = field.kind;
    if (['is_empty', 'is_true', 'is_false'].indexOf(op) >= 0) return parts;
    var number = function (v) { return v === '' ? null : Number(v); };
    if (['in_last_days', 'in_next_days', 'anniversary_within_days'].indexOf(op) >= 0) {
      parts.push(input('number', node.value, function (v) { node.value = number(v); self.changed(); }, this.t.value));
    } else if (op === 'is_one_of' && field.choices) {
      var multi = el('select', { multiple: 'multiple', 'aria-label': this.t.value, on: { change: function () {
        node.value = Array.prototype.filter.call(multi.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
        self.changed();
      } } });
      field.choices.forEach(function (c) {
        var option = el('option', { value: c[0], text: c[1] });
        option.selected = (node.value || []).indexOf(c[0]) >= 0;
        multi.appendChild(option);
      });
      parts.push(multi);
    } else if (op === 'is_one_of') {
      parts.push(input('text', (node.value || []).join(', '), function (v) {
        node.value = v.split(',').map(function (s) { return s.trim(); }).filter(Boolean); self.changed();
      }, this.t.value + ' (' + this.t.values_hint + ')'));
    } else if (kind === 'text') {
      parts.push(input('text', node.value, function (v) { node.value = v; self.changed(); }, this.t.value));
    } else {
      var type = kind === 'number' ? 'number' : 'date';
      var read = kind === 'number' ? number : function (v) { return v; };
      if (op === 'between') {
        var pair = Array.isArray(node.value) ? node.value : [null, null];
        node.value = pair;
        parts.push(input(type, pair[0], function (v) { pair[0] = read(v); self.changed(); }, this.t.value));
        parts.push(input(type, pair[1], function (v) { pair[1] = read(v); self.changed(); }, this.t.second_value));
      } else {
        parts.push(input(type, node.value, function (v) { node.value = read(v); self.changed(); }, this.t.value));
      }
    }
    return parts;
  };

  Builder.prototype.groupsCondition = function (node) {
    var self = this;
    var ids = el('select', { multiple: 'multiple', 'aria-label': this.t.group_list, on: { change: function () {
      node.ids = Array.prototype.filter.call(ids.options, function (o) { return o.selected; })
        .map(function (o) { return Number(o.value); });
      self.changed();
    } } });
    this.catalogue.groups.forEach(function (g) {
      var option = el('option', { value: g[0], text: g[1] });
      option.selected = (node.ids || []).indexOf(g[0]) >= 0;
      ids.appendChild(option);
    });
    return [select([['any', this.t.in_any], ['all', this.t.in_all], ['none', this.t.in_none]], node.groups,
      function (value) { node.groups = value; self.changed(); }, this.t.group_mode), ids];
  };

  Builder.prototype.behaviourCondition = function (node) {
    var self = this, behaviour = this.behaviours[node.behaviour] || this.catalogue.behaviours[0];
    var scope = node.scope || {}, scopeKind = Object.keys(scope)[0] || 'any';
    var parts = [select(this.catalogue.behaviours.map(function (b) { return [b[0], b[1]]; }), behaviour[0],
      function (value) {
        var chosen = self.behaviours[value], allowed = chosen[3];
        var fresh = { behaviour: value, scope: allowed.indexOf(scopeKind) >= 0 ? scope : {} };
        if (allowed[0] !== 'any' && allowed.indexOf(scopeKind) < 0) fresh.scope[allowed[0]] = allowed[0] === 'campaign'
          ? (self.catalogue.campaigns[0] || [0])[0] : 3;
        if (value === 'clicked_link') fresh.link = 0;
        if (value === 'clicked_link_containing') fresh.text = '';
        if (READER_LISTS[value]) fresh[READER_LISTS[value]] = [];
        Object.keys(node).forEach(function (k) { delete node[k]; });
        Object.assign(node, fresh);
        self.changed(true);
      }, this.t.behaviour)];
    var scopes = behaviour[3].map(function (s) { return [s, self.t[s === 'any' ? 'any_campaign' : s]]; });
    parts.push(select(scopes, scopeKind, function (value) {
      node.scope = {};
      if (value === 'campaign') node.scope.campaign = (self.catalogue.campaigns[0] || [0])[0];
      else if (value !== 'any') node.scope[value] = 3;
      self.changed(true);
    }, this.t.which));
    if (scopeKind === 'campaign') {
      parts.push(select(this.catalogue.campaigns.map(function (c) { return [c[0], c[1]]; }), scope.campaign,
        function (value) { node.scope = { campaign: Number(value) }; if ('link' in node) node.link = 0;
          self.changed(true); }, this.t.campaign));
    } else if (scopeKind !== 'any') {
      parts.push(input('number', scope[scopeKind], function (v) {
        node.scope = {}; node.scope[scopeKind] = v === '' ? null : Number(v); self.changed();
      }, this.t.number));
    }
    if (node.behaviour === 'clicked_link') {
      var campaign = this.catalogue.campaigns.filter(function (c) { return c[0] === scope.campaign; })[0];
      parts.push(select((campaign ? campaign[2] : []).map(function (l) { return [l[0], l[1]]; }), node.link,
        function (value) { node.link = Number(value); self.changed(); }, this.t.link));
    } else if (node.behaviour === 'clicked_link_containing') {
      parts.push(input('text', node.text, function (v) { node.text = v; self.changed(); }, this.t.text));
    } else if (READER_LISTS[node.behaviour]) {
      parts.push(this.multiple(node, READER_LISTS[node.behaviour]));
    } else if (node.behaviour === 'converted') {
      var goals = [['', this.t.any_goal]].concat(this.catalogue.goals);
      parts.push(select(goals, node.goal === undefined ? '' : node.goal, function (value) {
        if (value === '') delete node.goal; else node.goal = Number(value);
        self.changed();
      }, this.t.goal));
    } else if (node.behaviour === 'bounced') {
      var hard = el('input', { type: 'checkbox', on: { change: function () {
        if (hard.checked) node.hard = true; else delete node.hard; self.changed();
      } } });
      hard.checked = !!node.hard;
      parts.push(el('label', {}, [hard, document.createTextNode(' ' + this.t.hard)]));
    }
    return parts;
  };

  // A list parameter chosen among the catalogue's values (devices: fixed; clients, countries: those seen in the
  // tracking data); a value the segment already names stays offered even when no longer seen.
  Builder.prototype.multiple = function (node, key) {
    var self = this, chosen = node[key] || [], options = this.catalogue[key].slice();
    chosen.forEach(function (v) {
      if (!options.some(function (o) { return o[0] === v; })) options.push([v, v]);
    });
    if (!options.length) return el('span', { class: 'help-block', text: this.t.none_seen });
    var list = el('select', { multiple: 'multiple', 'aria-label': this.t[key], 'data-segment-param': key,
      on: { change: function () {
        node[key] = Array.prototype.filter.call(list.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
        self.changed();
      } } });
    options.forEach(function (o) {
      var option = el('option', { value: o[0], text: o[1] });
      option.selected = chosen.indexOf(o[0]) >= 0;
      list.appendChild(option);
    });
    return list;
  };

  Builder.prototype.count = function () {
    var self = this, request = ++this.latest;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () {
      var token = self.root.closest('form').querySelector('[name="csrfmiddlewaretoken"]');
      fetch(self.root.dataset.countUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': token ? token.value : '' },
        body: JSON.stringify({ conditions: JSON.parse(self.textarea.value || '{}') }),
      }).then(function (response) { return response.json(); }).then(function (data) {
        if (request !== self.latest) return;
        self.show(data);
      }).catch(function () {});
    }, 300);
  };

  Builder.prototype.show = function (data) {
    var body = this.sample.querySelector('tbody');
    body.replaceChildren();
    if (data.errors) {
      this.output.replaceChildren(el('p', { class: 'error-message', text: this.t.error }),
        el('ul', {}, data.errors.map(function (e) { return el('li', { text: e }); })));
      this.sample.hidden = true;
      return;
    }
    var number = new Intl.NumberFormat(document.documentElement.lang || undefined).format(data.count);
    this.output.replaceChildren(el('p', { 'data-segment-count-value': data.count,
      text: this.t.matching.replace('%(count)s', number) }));
    data.sample.forEach(function (row) {
      body.appendChild(el('tr', {}, [el('td', { text: row.email }), el('td', { text: row.name }),
        el('td', { text: row.status })]));
    });
    this.sample.hidden = !data.sample.length;
  };

  // The behaviours whose parameter is a list of values, by the parameter's name (growth/reader_conditions.py).
  var READER_LISTS = { device: 'devices', client: 'clients', country: 'countries' };

  function start() {
    document.querySelectorAll('[data-segment-builder]').forEach(function (root) { new Builder(root); });
  }
  // Wagtail may put a form's media in the page's head, before the form.
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
