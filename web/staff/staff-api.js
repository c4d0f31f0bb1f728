// Shared by the console (console.js) and the insight page (insight.js): JSON calls to the
// staff API (the session cookie, the CSRF header on changes, Dutch errors) and the small DOM
// helpers. Text is only ever set with textContent.
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  // Fills a <select> and keeps the current choice when it is still offered.
  function setOptions(select, pairs, placeholder) {
    const keep = select.value;
    select.replaceChildren();
    if (placeholder) select.append(new Option(placeholder, ''));
    for (const [value, label] of pairs) select.append(new Option(label, value));
    if (pairs.some(([value]) => value === keep)) select.value = keep;
  }

  function pad(n) {
    return String(n).padStart(2, '0');
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function request(method, url, body, csrf) {
    const options = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (method !== 'GET') {
      options.headers['Content-Type'] = 'application/json';
      if (csrf) options.headers['X-CSRF-Token'] = csrf;
      options.body = JSON.stringify(body || {});
    }
    let response;
    // The two Dutch texts written here (no connection; an error without a message of its own)
    // must show when the server cannot be reached or answers without its JSON, so they cannot
    // come from content/staff_console.yml like every other text (docs/CONTENT.md).
    try {
      response = await fetch(url, options);
    } catch (err) {
      throw new ApiError(0, 'network', 'Geen verbinding met de server. Probeer het opnieuw.');
    }
    let data = null;
    try {
      data = await response.json();
    } catch (err) {
      data = null;
    }
    if (!response.ok) {
      const message = (data && data.message) || `Er ging iets mis (fout ${response.status}).`;
      throw new ApiError(response.status, data && data.error, message);
    }
    return data || {};
  }

  // The staff pages' own Dutch texts (content/staff_console.yml, GET /staff/api/texts, open
  // before login). Nothing is shown before them: while the server cannot be reached, its
  // error goes to ``onError`` (the network text above) and the call tries again.
  async function loadTexts(onError) {
    const backoff = [1000, 2000, 5000, 10000];
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await request('GET', '/staff/api/texts');
      } catch (err) {
        onError(err);
        await new Promise((resolve) => setTimeout(resolve, backoff[Math.min(attempt, backoff.length - 1)]));
      }
    }
  }

  // Fills the page's own words from ``texts`` (one section of content/staff_console.yml): an
  // element's text from data-text="key", and its attributes from data-text-title,
  // data-text-aria-label and data-text-placeholder. The HTML itself holds no Dutch.
  const ATTRIBUTES = ['title', 'aria-label', 'placeholder'];

  function applyTexts(texts, root = document) {
    const text = (key) => texts[key] || key;
    for (const node of root.querySelectorAll('[data-text]')) node.textContent = text(node.dataset.text);
    for (const name of ATTRIBUTES) {
      for (const node of root.querySelectorAll(`[data-text-${name}]`)) {
        node.setAttribute(name, text(node.getAttribute(`data-text-${name}`)));
      }
    }
  }

  // A text with its words in braces filled in from ``values`` (unknown ones stay as they are).
  function fill(text, values = {}) {
    return String(text).replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  }

  window.cjgStaffApi = Object.freeze({ ApiError, request, loadTexts, applyTexts, fill, $, el, show, pad, setOptions });
})();
