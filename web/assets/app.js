// incidentflow's one script: partial updates and live changes for pages
// the server renders. Every page works without it; with it, a page that
// streams its changes (main[data-stream]) refreshes its live parts
// ([data-live] with an id) when the server says the record moved, and a
// form marked data-enhance is sent in the background and the parts it
// changed are swapped in place, keeping the reader's place and focus.
(function () {
  'use strict';

  var main = document.getElementById('main');
  if (!main || !window.fetch || !window.DOMParser) return;

  // A form sent back with problems opens on their summary.
  var problems = document.getElementById('problems');
  if (problems) problems.focus();

  function parse(html) {
    return new DOMParser().parseFromString(html, 'text/html');
  }

  // A part holding what the reader is typing, or has changed, is left
  // alone until they are done with it; what is in except (the form just
  // sent) does not count.
  function busy(el, except) {
    var active = document.activeElement;
    if (active && el.contains(active) && !(except && except.contains(active)) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName)) return true;
    var fields = el.querySelectorAll('input, textarea, select');
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.type === 'hidden' || (except && except.contains(f))) continue;
      if ((f.type === 'checkbox' || f.type === 'radio') ? f.checked !== f.defaultChecked
        : f.tagName === 'SELECT' ? changedSelect(f) : f.value !== f.defaultValue) return true;
    }
    return false;
  }

  // changedSelect reports whether a select shows other than it was given:
  // without a selected option, that is its first.
  function changedSelect(s) {
    var given = 0;
    for (var i = 0; i < s.options.length; i++) {
      if (s.options[i].defaultSelected) given = i;
    }
    return s.options.length > 0 && s.selectedIndex !== given;
  }

  // same compares two renderings of a part, ignoring the nonces that make
  // each rendering's forms act once.
  function same(a, b) {
    var once = /name="once" value="[^"]*"/g;
    return a.innerHTML.replace(once, '') === b.innerHTML.replace(once, '');
  }

  function liveIds(root) {
    return Array.prototype.map.call(root.querySelectorAll('[data-live][id]'), function (el) { return el.id; }).join(' ');
  }

  // replace puts fresh in el's place, keeping open what the reader opened.
  function replace(el, fresh) {
    var open = {};
    el.querySelectorAll('details[open] > summary').forEach(function (s) { open[s.textContent] = true; });
    el.replaceWith(fresh);
    fresh.querySelectorAll('details > summary').forEach(function (s) {
      if (open[s.textContent]) s.parentNode.open = true;
    });
  }

  // renew replaces form, in part, with its twin in the part's fresh
  // rendering: the form with the same action, in the same place among those.
  function renew(form, part, fresh) {
    var action = form.getAttribute('action');
    var mine = Array.prototype.filter.call(part.querySelectorAll('form'), function (f) { return f.getAttribute('action') === action; });
    var theirs = Array.prototype.filter.call(fresh.querySelectorAll('form'), function (f) { return f.getAttribute('action') === action; });
    var twin = theirs[mine.indexOf(form)];
    if (twin) form.replaceWith(document.importNode(twin, true));
  }

  // swap brings the page up to doc: each live part that changed is
  // replaced, unless the reader is busy in it (then it is marked stale and
  // refreshed when they leave it); the part holding force, the form just
  // sent, is replaced regardless, or that form alone while the reader is
  // busy in another of its forms. When the parts themselves changed (an
  // incident closed has nothing left to act on), the whole page is.
  function swap(doc, force) {
    var freshMain = doc.getElementById('main');
    if (!freshMain) return;
    if (liveIds(doc) !== liveIds(document)) {
      var parts = document.querySelectorAll('[data-live][id]');
      for (var k = 0; k < parts.length; k++) {
        if (busy(parts[k]) && !(force && parts[k].contains(force))) { parts[k].setAttribute('data-stale', ''); return; }
      }
      var messages = document.getElementById('messages');
      main.innerHTML = freshMain.innerHTML;
      if (messages) document.getElementById('messages').replaceWith(messages);
    } else {
      var live = document.querySelectorAll('[data-live][id]');
      for (var i = 0; i < live.length; i++) {
        var el = live[i], fresh = doc.getElementById(el.id);
        var sent = force && el.contains(force) ? force : null;
        if (!sent && same(el, fresh)) { el.removeAttribute('data-stale'); continue; }
        if (busy(el, sent)) {
          // The reader is busy in another form of the part: only the form
          // sent is renewed (its nonce with it), the rest waits for them.
          el.setAttribute('data-stale', '');
          if (sent) renew(sent, el, fresh);
          continue;
        }
        replace(el, fresh);
      }
    }
    if (freshMain.dataset.version) main.dataset.version = freshMain.dataset.version;
    document.title = doc.title;
  }

  var refreshing = null, again = false;
  function refresh() {
    if (refreshing) { again = true; return refreshing; }
    refreshing = fetch(location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (res) {
        if (res.redirected && new URL(res.url).pathname === '/signin') { location.assign(res.url); return null; }
        return res.ok ? res.text() : null;
      })
      .then(function (html) { if (html) swap(parse(html)); })
      .catch(function () { /* the next change tries again */ })
      .then(function () {
        refreshing = null;
        if (again) { again = false; refresh(); }
      });
    return refreshing;
  }

  // Live changes: the server sends the version the record is at, then
  // "changed" whenever it moves; it watches the database, so a change made
  // through any replica (or by the run itself) arrives.
  var stream = main.getAttribute('data-stream');
  if (stream && window.EventSource) {
    var es = new EventSource(stream);
    es.addEventListener('version', function (e) {
      if (e.data !== main.dataset.version) refresh();
    });
    es.addEventListener('changed', function (e) {
      if (e.data !== main.dataset.version) refresh();
    });
    es.addEventListener('gone', function () { es.close(); refresh(); });
    // A part left alone while the reader typed is refreshed once they leave it.
    document.addEventListener('focusout', function () {
      setTimeout(function () {
        if (document.querySelector('[data-live][data-stale]') && !document.querySelector('[data-live][data-stale] :focus')) refresh();
      }, 0);
    });
  }

  function announce(doc) {
    var fresh = doc.getElementById('messages');
    var messages = document.getElementById('messages');
    if (!fresh || !messages) return;
    messages.replaceWith(fresh);
    var msg = fresh.querySelector('.flash');
    if (msg) msg.focus();
  }

  // Enhanced forms: sent in the background, answered with the page they
  // lead to, whose live parts and messages replace these.
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!form.hasAttribute('data-enhance') || form.method.toLowerCase() !== 'post') return;
    ev.preventDefault();
    var button = form.querySelector('button[type=submit]');
    if (button) button.disabled = true;
    var body = new URLSearchParams(new FormData(form));
    fetch(form.action, { method: 'POST', body: body, credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (res) {
        var here = new URL(location.href).pathname;
        if (res.redirected && new URL(res.url).pathname !== here) { location.assign(res.url); return null; }
        return res.text();
      })
      .then(function (html) {
        if (html === null) return;
        var doc = parse(html);
        swap(doc, form);
        announce(doc);
      })
      .catch(function () { form.submit(); })
      .then(function () { if (button && document.contains(button)) button.disabled = false; });
  });
})();
