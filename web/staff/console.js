// Staff console for the CJG Kennemerland chat service.
// Plain browser JavaScript (ES2020), no build step. All server text goes through textContent.
'use strict';

(() => {
  const API = '/staff/api';
  const BACKOFF_MS = [1000, 2000, 5000, 10000];
  const PING_MS = 15000;
  const TYPING_SEND_MS = 2000;
  const TYPING_SHOW_MS = 4000;
  const WAIT_REFRESH_MS = 30000;
  const FLOOD_NOTICE_MS = 10 * 60 * 1000; // the urgent limits' window; a new event renews it
  const DEBOUNCE_MS = 150;
  // The server closes the live line with this code when the login behind it has ended; its reason
  // is the Dutch text from content/staff_console.yml.
  const LOGGED_OUT_CODE = 4001;
  const QUEUE_EVENTS = ['queue', 'claimed', 'released', 'transferred', 'closed', 'message_left', 'presence', 'safety'];
  const ROLES = ['user', 'bot', 'staff', 'note', 'system'];
  const PRESENCES = ['online', 'away'];
  const INSIGHT_PAGE = '/staff/insight'; // the figures dashboard; the only page for role "insight"
  const AUDIT_ACTIONS = ['login', 'opened', 'claimed', 'closed', 'answered', 'transferred', 'received'];

  const state = {
    texts: { console: {}, messages: {} }, // content/staff_console.yml, read first (loadTexts)
    me: null,
    csrf: '',
    queue: { waiting: [], active: [], messages: [] },
    unsent: null, // { text, hid, id } of a reply whose sending failed: sent again with its id
    seenWaiting: null, // Set of waiting hids seen so far; null before the first load
    staff: [],
    canned: [],
    registration: { topics: {}, outcomes: {}, referrals: {}, askers: {}, channels: {}, reasons: {} },
    open: null, // the handoff shown in the conversation panel
    wantHid: null, // the handoff last asked for (may still be loading)
    openSeq: 0,
    entryIds: new Set(),
    ws: null,
    wsAttempt: 0,
    pingTimer: null,
    reconnectTimer: null,
    queueTimer: null,
    staffTimer: null,
    typingTimer: null,
    lastTypingSent: 0,
    statusTimer: null,
    audio: null,
    floodTimer: null,
    baseTitle: '', // the page's title (page_title), set with the texts
  };

  // --- small helpers ---------------------------------------------------------------------

  const { $, el, show, pad, setOptions } = window.cjgStaffApi; // staff-api.js, loaded first

  // A Dutch text of content/staff_console.yml ("console", else "messages"), with the words in
  // braces filled in from ``values``. Staff edit the texts there; none is written here.
  function t(key, values = {}) {
    return window.cjgStaffApi.fill(state.texts.console[key] || state.texts.messages[key] || key, values);
  }

  function presenceLabel(status) {
    return PRESENCES.includes(status) ? t(`presence_${status}`) : t('presence_offline');
  }

  function formatTime(ms) {
    if (!ms) return '';
    const d = new Date(ms);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function formatDate(ms) {
    if (!ms) return '';
    const d = new Date(ms);
    return `${pad(d.getDate())}-${pad(d.getMonth() + 1)}-${d.getFullYear()} ${formatTime(ms)}`;
  }

  function minutesSince(ms) {
    return ms ? Math.max(0, Math.floor((Date.now() - ms) / 60000)) : 0;
  }

  function channelLabel(channel) {
    return state.registration.channels[channel] || channel || '';
  }

  function staffName(username) {
    const found = state.staff.find((s) => s.username === username);
    return found && found.name ? `${found.name} (${username})` : username || '';
  }

  function summaryOf(h) {
    return h && h.summary && typeof h.summary === 'object' ? h.summary : {};
  }

  function reasonLabel(h) {
    const s = summaryOf(h);
    const reason = s.reason || h.reason;
    return s.reason_label || state.registration.reasons[reason] || reason || t('conversation');
  }

  // --- status line -----------------------------------------------------------------------

  function setStatus(text, kind = 'error', sticky = false) {
    const line = $('status-line');
    clearTimeout(state.statusTimer);
    line.textContent = text || '';
    line.classList.toggle('is-error', kind === 'error' && Boolean(text));
    line.classList.toggle('is-info', kind === 'info' && Boolean(text));
    if (text && !sticky) {
      state.statusTimer = setTimeout(() => setStatus(''), kind === 'error' ? 15000 : 6000);
    }
  }

  // Many crisis messages at once: those past the urgent limits wait at a normal place in the
  // queue (labelled "Zorg over veiligheid"). The server sends the Dutch text with the count.
  function showFloodNotice(text) {
    const notice = $('flood-notice');
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(state.floodTimer);
    state.floodTimer = setTimeout(() => { notice.hidden = true; }, FLOOD_NOTICE_MS);
  }

  // --- API -------------------------------------------------------------------------------

  const { ApiError } = window.cjgStaffApi; // staff-api.js, loaded first

  async function api(method, path, body) {
    const data = await window.cjgStaffApi.request(method, API + path, body, state.csrf);
    nudgeSocket();
    return data;
  }

  // Shows an API error; a lost session sends the user back to the login form.
  function handleError(err) {
    if (err instanceof ApiError && err.status === 401 && state.me) {
      endSession();
      setStatus(err.message);
      return;
    }
    setStatus(err && err.message ? err.message : t('error_generic'));
  }

  const hidPath = (hid, action = '') => `/handoffs/${encodeURIComponent(hid)}${action ? `/${action}` : ''}`;

  // --- login and session -----------------------------------------------------------------

  function showLogin() {
    show($('console'), false);
    show($('audit-view'), false);
    show($('session-controls'), false);
    show($('login-form'), true);
    $('username').focus();
  }

  function isAdmin() {
    return Boolean(state.me && state.me.role === 'admin');
  }

  function startSession(me) {
    // Insight accounts only see the figures: send them to their own page.
    if (me && me.role === 'insight') {
      location.assign(INSIGHT_PAGE);
      return;
    }
    state.me = me;
    state.csrf = me.csrf || '';
    state.wsAttempt = 0;
    $('user-name').textContent = t('logged_in_as', { name: me.name || me.username });
    $('presence').value = 'online';
    show($('insight-link'), isAdmin());
    show($('audit-open'), isAdmin());
    show($('audit-view'), false);
    show($('login-form'), false);
    show($('login-error'), false);
    show($('session-controls'), true);
    show($('console'), true);
    loadAll();
    connectSocket();
  }

  function endSession() {
    state.me = null;
    state.csrf = '';
    state.seenWaiting = null;
    closeConversation();
    clearTimeout(state.reconnectTimer);
    clearInterval(state.pingTimer);
    if (state.ws) {
      const ws = state.ws;
      state.ws = null;
      ws.close();
    }
    document.title = state.baseTitle;
    show($('insight-link'), false);
    show($('audit-open'), false);
    $('audit-rows').replaceChildren();
    showLogin();
  }

  async function onLogin(event) {
    event.preventDefault();
    const errorBox = $('login-error');
    show(errorBox, false);
    const username = $('username').value.trim();
    const password = $('password').value;
    if (!username || !password) {
      errorBox.textContent = t('login_missing');
      show(errorBox, true);
      return;
    }
    $('login-submit').disabled = true;
    try {
      const me = await api('POST', '/login', { username, password });
      $('password').value = '';
      startSession(me);
    } catch (err) {
      errorBox.textContent = err.message;
      show(errorBox, true);
    } finally {
      $('login-submit').disabled = false;
    }
  }

  async function onLogout() {
    try {
      await api('POST', '/logout');
    } catch (err) {
      // Logging out locally is what matters; the session expires on its own.
    }
    endSession();
    setStatus(t('logged_out_here'), 'info');
  }

  async function onPresenceChange() {
    try {
      await api('POST', '/presence', { status: $('presence').value });
    } catch (err) {
      handleError(err);
    }
  }

  async function loadAll() {
    await loadRegistration(); // first: it names the channels the lists show
    refreshQueue();
    refreshCallbacks();
    loadStaff();
    loadCanned();
  }

  // --- reference data --------------------------------------------------------------------

  async function loadCanned() {
    try {
      const data = await api('GET', '/canned');
      state.canned = Array.isArray(data.replies) ? data.replies : [];
      setOptions($('canned'), state.canned.map((r, i) => [String(i), r.title]), t('choose_canned'));
    } catch (err) {
      handleError(err);
    }
  }

  async function loadRegistration() {
    try {
      const data = await api('GET', '/registration');
      state.registration = {
        topics: data.topics || {}, outcomes: data.outcomes || {},
        referrals: data.referrals || {}, askers: data.askers || {},
        channels: data.channels || {}, reasons: data.reasons || {}, // content/staff_console.yml
      };
      const reg = state.registration;
      setOptions($('close-topic'), Object.entries(reg.topics), t('choose_topic'));
      setOptions($('close-outcome'), Object.entries(reg.outcomes).map(([k, v]) => [k, v.label]), t('choose_outcome'));
      setOptions($('close-referral'), Object.entries(reg.referrals), t('choose_referral'));
      setOptions($('close-asker'), Object.entries(reg.askers), t('choose_asker'));
      updateReferralVisibility();
    } catch (err) {
      handleError(err);
    }
  }

  async function loadStaff() {
    try {
      const data = await api('GET', '/staff');
      state.staff = Array.isArray(data.staff) ? data.staff : [];
      renderStaff();
      renderActive(); // colleague names may have changed
    } catch (err) {
      handleError(err);
    }
  }

  function renderStaff() {
    const me = state.me ? state.me.username : '';
    const colleagues = state.staff.filter((s) => s.username !== me);
    const label = (s) => t('colleague_option', {
      name: s.name || s.username,
      status: PRESENCES.includes(s.status) ? presenceLabel(s.status) : t('colleague_offline'),
    });
    setOptions($('transfer-to'), colleagues.map((s) => [s.username, label(s)]), t('choose_colleague'));
    const list = $('presence-list');
    list.replaceChildren();
    for (const s of colleagues) {
      const li = el('li', `presence-item presence-${s.status || 'offline'}`);
      li.append(el('span', 'presence-dot'), el('span', 'presence-name', s.name || s.username));
      li.append(el('span', 'presence-status', presenceLabel(s.status)));
      list.append(li);
    }
  }

  // --- queue and lists -------------------------------------------------------------------

  function scheduleQueueRefresh() {
    clearTimeout(state.queueTimer);
    state.queueTimer = setTimeout(refreshQueue, DEBOUNCE_MS);
  }

  function scheduleStaffRefresh() {
    clearTimeout(state.staffTimer);
    state.staffTimer = setTimeout(loadStaff, DEBOUNCE_MS);
  }

  async function refreshQueue() {
    if (!state.me) return;
    try {
      const data = await api('GET', '/queue');
      state.queue = {
        waiting: data.waiting || [],
        active: data.active || [],
        messages: data.messages || [],
      };
      notifyNewWaiting();
      renderQueue();
      renderActive();
      renderLeftMessages();
    } catch (err) {
      handleError(err);
    }
  }

  function notifyNewWaiting() {
    // Only chats for this colleague alert (routing): one kept for another team comes in later.
    const hids = state.queue.waiting.filter(isAlertable).map((h) => h.hid);
    const fresh = state.seenWaiting ? hids.filter((hid) => !state.seenWaiting.has(hid)) : [];
    if (!state.seenWaiting) state.seenWaiting = new Set();
    hids.forEach((hid) => state.seenWaiting.add(hid));
    if (fresh.length) beep();
    const n = hids.length;
    const badge = $('queue-badge');
    badge.textContent = String(n);
    show(badge, n > 0);
    document.title = n > 0 ? `(${n}) ${state.baseTitle}` : state.baseTitle;
  }

  function describe(h) {
    const s = summaryOf(h);
    const parts = [];
    if (s.theme) parts.push(s.theme);
    if (s.child_age) parts.push(t('child_age', { age: s.child_age }));
    if (s.municipality) parts.push(s.municipality);
    const channel = channelLabel(s.channel || h.channel);
    if (channel) parts.push(channel);
    return parts.join(' · ');
  }

  function waitText(queuedAt) {
    return t('waiting_minutes', { minutes: minutesSince(queuedAt) });
  }

  function queueItem(h) {
    const s = summaryOf(h);
    const li = el('li', 'queue-item');
    li.dataset.hid = h.hid;
    if (h.urgent || s.urgent) li.classList.add('urgent');
    const head = el('div', 'item-head');
    head.append(el('span', 'position', `#${h.position || ''}`));
    if (h.urgent || s.urgent) head.append(el('span', 'urgent-flag', t('urgent')));
    head.append(el('span', 'reason', reasonLabel(h)));
    const wait = el('span', 'wait', waitText(h.queued_at));
    wait.dataset.queuedAt = String(h.queued_at || '');
    const claim = el('button', 'claim', t('claim'));
    claim.type = 'button';
    claim.setAttribute('aria-label', t('claim_label', { reason: reasonLabel(h), position: h.position || '' }));
    li.append(head, el('div', 'item-meta', describe(h)), routingLine(h), wait, claim);
    if (!isAlertable(h)) li.classList.add('routing-others');
    return li;
  }

  function renderList(listId, emptyId, items, build) {
    const list = $(listId);
    list.replaceChildren(...items.map(build));
    show($(emptyId), items.length === 0);
    markOpen();
  }

  function renderQueue() {
    renderList('queue', 'queue-empty', state.queue.waiting, queueItem);
  }

  // An item opened by its own button; the whole li is clickable too (delegated handler).
  function openableItem(className, h, title, detail) {
    const li = el('li', className);
    li.dataset.hid = h.hid;
    const button = el('button', 'open-item');
    button.type = 'button';
    button.append(el('span', 'item-title', title), el('span', 'item-meta', detail));
    li.append(button);
    return li;
  }

  function renderActive() {
    const me = state.me ? state.me.username : '';
    const mine = state.queue.active.filter((h) => h.staff === me);
    const others = state.queue.active.filter((h) => h.staff !== me);
    renderList('mine', 'mine-empty', mine, (h) =>
      openableItem('conversation-item', h, reasonLabel(h), t('mine_since', { details: describe(h), time: formatTime(h.claimed_at) })));
    renderList('others', 'others-empty', others, (h) =>
      openableItem('conversation-item', h, reasonLabel(h), t('with_colleague', { name: staffName(h.staff), details: describe(h) })));
  }

  function renderLeftMessages() {
    renderList('left-messages', 'left-empty', state.queue.messages, (h) =>
      openableItem('left-item', h, t('left_message_from', { date: formatDate(h.queued_at || h.closed_at) }), describe(h)));
  }

  function refreshWaitTimes() {
    for (const node of document.querySelectorAll('#queue .wait')) {
      node.textContent = waitText(Number(node.dataset.queuedAt));
    }
  }

  function markOpen() {
    const hid = state.open ? state.open.hid : null;
    for (const li of document.querySelectorAll('.item-list > li[data-hid]')) {
      li.classList.toggle('is-open', li.dataset.hid === hid);
    }
  }

  async function onClaim(hid, button) {
    button.disabled = true;
    try {
      await api('POST', hidPath(hid, 'claim'));
      await refreshQueue();
      await openConversation(hid);
      revealPanel();
      $('reply').focus();
    } catch (err) {
      handleError(err);
      if (err.status === 409) refreshQueue();
    } finally {
      button.disabled = false;
    }
  }

  function onListClick(event) {
    const li = event.target.closest('li[data-hid]');
    if (!li) return;
    const claim = event.target.closest('button.claim');
    if (claim) {
      onClaim(li.dataset.hid, claim);
    } else if (!li.classList.contains('queue-item')) {
      openConversation(li.dataset.hid).then(revealPanel);
    }
  }

  // --- routing (handoff/routing.py, docs/CONSOLE.md) ---------------------------------------
  // Why a waiting chat is in this list: it is for you (your team and profile match), for
  // everyone (since when and why), or still kept for colleagues who match (you may help out).

  function routingOf(h) {
    return h && h.routing && typeof h.routing === 'object' ? h.routing : null;
  }

  function isAlertable(h) {
    const r = routingOf(h);
    return !r || r.for !== 'others';
  }

  function routingText(h) {
    const r = routingOf(h);
    if (!r) return '';
    const what = typeof r.label === 'string' ? r.label : '';
    if (r.for === 'you') return what || t('routing_you');
    if (r.for === 'others') {
      const left = r.until ? Math.max(1, Math.ceil((Number(r.until) - Date.now()) / 60000)) : null;
      const who = what || t('routing_a_colleague');
      return left ? t('routing_others_until', { who, minutes: left }) : t('routing_others', { who });
    }
    if (r.opened === 'urgent') return t('routing_urgent');
    if (r.opened === 'nobody') return t('routing_nobody', { who: what });
    const since = r.open_at
      ? t('routing_everyone_since', { minutes: minutesSince(Number(r.open_at)) })
      : t('routing_everyone');
    return what && r.opened === 'waited' ? `${what} · ${since}` : since;
  }

  function routingLine(h) {
    const line = el('div', 'routing', routingText(h));
    const r = routingOf(h);
    line.classList.add(`routing-${r && typeof r.for === 'string' ? r.for : 'everyone'}`);
    line.hidden = !r;
    return line;
  }

  function refreshRoutingLines() {
    for (const li of document.querySelectorAll('#queue > li[data-hid]')) {
      const h = state.queue.waiting.find((item) => item.hid === li.dataset.hid);
      const line = li.querySelector('.routing');
      if (h && line) line.textContent = routingText(h);
    }
  }

  // --- history ---------------------------------------------------------------------------

  function historyItem(h) {
    const s = summaryOf(h);
    const reg = h.registration || {};
    const topic = state.registration.topics[reg.topic] || reg.topic;
    const outcome = (state.registration.outcomes[reg.outcome] || {}).label || reg.outcome;
    const parts = [channelLabel(s.channel || h.channel), s.theme].filter(Boolean);
    const lines = [parts.join(' · ')];
    if (topic || outcome) lines.push([topic, outcome].filter(Boolean).join(' – '));
    if (h.rating) lines.push(t('rating', { rating: h.rating }));
    return openableItem('history-item', h, formatDate(h.closed_at || h.queued_at), lines.join(' | '));
  }

  async function loadHistory() {
    try {
      const data = await api('GET', '/history');
      renderList('history', 'history-empty', data.closed || [], historyItem);
    } catch (err) {
      handleError(err);
    }
  }

  function selectTab(name) {
    const history = name === 'history';
    $('tab-queue').setAttribute('aria-selected', String(!history));
    $('tab-history').setAttribute('aria-selected', String(history));
    show($('panel-queue'), !history);
    show($('panel-history'), history);
    if (history) loadHistory();
  }

  // --- audit log (admins only) -----------------------------------------------------------

  function auditRow(entry) {
    const tr = el('tr');
    const action = String(entry.action || '');
    tr.append(
      el('td', '', formatDate(Number(entry.at))),
      el('td', '', staffName(entry.staff)),
      el('td', '', AUDIT_ACTIONS.includes(action) ? t(`audit_${action}`) : action),
      el('td', '', entry.hid || ''),
    );
    return tr;
  }

  async function loadAudit() {
    const button = $('audit-open');
    button.disabled = true;
    try {
      const data = await api('GET', '/audit');
      const entries = (Array.isArray(data.entries) ? data.entries : []).filter((e) => e && typeof e === 'object');
      $('audit-rows').replaceChildren(...entries.map(auditRow));
      show($('audit-empty'), entries.length === 0);
      return true;
    } catch (err) {
      handleError(err);
      return false;
    } finally {
      button.disabled = false;
    }
  }

  async function openAudit() {
    if (!isAdmin()) return;
    if (!(await loadAudit()) || !state.me) return;
    show($('console'), false);
    show($('audit-view'), true);
    $('audit-close').focus();
  }

  function closeAudit() {
    show($('audit-view'), false);
    if (!state.me) return;
    show($('console'), true);
    $('audit-open').focus();
  }

  // --- conversation panel ----------------------------------------------------------------

  async function openConversation(hid) {
    const seq = ++state.openSeq;
    state.wantHid = hid;
    // Before loading: the live line carries this conversation's text from now on (when allowed).
    sendSocket({ type: 'watch', hid });
    try {
      const h = await api('GET', hidPath(hid));
      if (seq !== state.openSeq) return; // a later click won
      const same = state.open && state.open.hid === hid;
      state.open = h;
      // Not readable (any more), e.g. just transferred to a colleague: clear what was shown.
      if (!same || h.readable === false) {
        state.entryIds.clear();
        $('transcript').replaceChildren();
        resetInputs();
      }
      renderConversation(h);
      (h.transcript || []).forEach(addEntry);
      show($('no-conversation'), false);
      show($('conversation'), true);
      markOpen();
    } catch (err) {
      if (seq === state.openSeq) state.wantHid = state.open ? state.open.hid : null;
      handleError(err);
    }
  }

  function resetInputs() {
    for (const id of ['reply', 'note-text', 'answer-text', 'canned', 'transfer-to']) $(id).value = '';
    $('close-form').reset();
    updateReferralVisibility();
    show($('user-typing'), false);
  }

  // On a narrow screen the panel sits below the lists: bring it into view.
  function revealPanel() {
    if (window.matchMedia('(max-width: 760px)').matches) $('conversation').scrollIntoView({ block: 'start' });
  }

  function reloadOpen() {
    if (state.wantHid) openConversation(state.wantHid);
  }

  function closeConversation() {
    state.openSeq++;
    state.open = null;
    state.wantHid = null;
    sendSocket({ type: 'watch', hid: null });
    state.entryIds.clear();
    $('transcript').replaceChildren();
    show($('conversation'), false);
    show($('no-conversation'), true);
    markOpen();
  }

  function isMine(h) {
    return Boolean(h && state.me && h.state === 'with_staff' && h.staff === state.me.username);
  }

  function metaText(h) {
    if (isMine(h)) return t('meta_mine');
    if (h.readable === false) return t('meta_not_readable', { name: staffName(h.staff) });
    switch (h.state) {
      case 'with_staff': return t('meta_with_staff', { name: staffName(h.staff) });
      case 'waiting': return t('meta_waiting');
      case 'message': return t('meta_message');
      case 'answered': return t('meta_answered');
      case 'closed': return t('meta_closed', { date: formatDate(h.closed_at) });
      case 'cancelled': return t('meta_cancelled');
      default: return t('meta_other');
    }
  }

  function renderConversation(h) {
    $('conversation-title').textContent = reasonLabel(h);
    $('conversation-meta').textContent = metaText(h);
    renderSummary(h);
    renderAddress(h);
    show($('composer'), isMine(h));
    show($('answer-box'), h.state === 'message');
  }

  // "je" or "u" (bot/address.py): a label by the chat's title when the parent gets "u", so staff
  // answer in the same form. The Dutch text comes with the chat (content/staff_console.yml).
  function renderAddress(h) {
    let label = $('conversation-address');
    if (!label) {
      label = el('span', 'address-label');
      label.id = 'conversation-address';
      $('conversation-title').after(label);
    }
    const text = typeof h.address_label === 'string' ? h.address_label : '';
    label.textContent = text;
    show(label, Boolean(text));
  }

  function summaryRow(list, term, value) {
    if (value === undefined || value === null || value === '') return;
    list.append(el('dt', '', term), el('dd', '', value));
  }

  function renderSummary(h) {
    const s = summaryOf(h);
    const box = $('summary');
    box.replaceChildren();
    if (s.safety || h.safety) {
      const what = h.safety || (s.context && s.context.safety) || t('safety_default');
      box.append(el('p', 'safety-banner', t('safety_banner', { what })));
    }
    if (h.urgent || s.urgent) box.append(el('p', 'urgent-flag', t('urgent')));
    const list = el('dl', 'summary-list');
    summaryRow(list, t('summary_reason'), reasonLabel(h));
    summaryRow(list, t('summary_theme'), s.theme);
    summaryRow(list, t('summary_child_age'), s.child_age ? t('child_age', { age: s.child_age }) : '');
    summaryRow(list, t('summary_municipality'), s.municipality);
    summaryRow(list, t('summary_channel'), channelLabel(s.channel || h.channel));
    box.append(list);
    const advised = Array.isArray(s.advised) ? s.advised : [];
    if (advised.length) {
      box.append(el('h3', 'advised-heading', t('advised_heading')));
      const ul = el('ul', 'advised');
      advised.forEach((text) => ul.append(el('li', '', text)));
      box.append(ul);
    }
  }

  function whoLabel(entry) {
    switch (entry.role) {
      case 'user': return t('who_user');
      case 'bot': return t('who_bot');
      case 'staff': return entry.staff || t('who_staff');
      case 'note': return t('who_note');
      default: return t('who_system');
    }
  }

  function addEntry(entry) {
    if (!entry || entry.id === undefined || entry.id === null) return;
    const key = String(entry.id);
    if (state.entryIds.has(key)) return;
    state.entryIds.add(key);
    const role = ROLES.includes(entry.role) ? entry.role : 'system';
    const li = el('li', `entry role-${role}`);
    li.dataset.id = key;
    const head = el('div', 'entry-head');
    head.append(el('span', 'who', whoLabel(entry)));
    if (role === 'note') {
      head.append(el('span', 'note-label', t('note_label')));
      if (entry.staff) head.append(el('span', 'note-author', entry.staff));
    }
    head.append(el('span', 'time', formatTime(entry.at)));
    li.append(head, el('div', 'text', entry.text));
    const list = $('transcript');
    // Keep time order even when a live event and a fetch overlap.
    const after = [...list.children].find((node) => Number(node.dataset.at) > Number(entry.at));
    li.dataset.at = String(entry.at || 0);
    list.insertBefore(li, after || null);
    list.scrollTop = list.scrollHeight;
    if (role === 'user') show($('user-typing'), false);
  }

  function showUserTyping() {
    show($('user-typing'), true);
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(() => show($('user-typing'), false), TYPING_SHOW_MS);
  }

  // --- composer actions ------------------------------------------------------------------

  // Runs a POST for the open conversation with its button disabled; returns the answer or null.
  async function act(button, action, body) {
    if (!state.open) return null;
    button.disabled = true;
    try {
      return await api('POST', hidPath(state.open.hid, action), body);
    } catch (err) {
      handleError(err);
      if (err.status === 409) {
        refreshQueue();
        reloadOpen();
      }
      return null;
    } finally {
      button.disabled = false;
    }
  }

  function newReplyId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    const bytes = window.crypto.getRandomValues(new Uint8Array(16)); // plain http on a LAN
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  async function onSend(event) {
    event.preventDefault();
    const text = $('reply').value.trim();
    if (!text) return setStatus(t('write_message_first'));
    // One id per reply, kept while the same text waits to be sent: when an answer is lost
    // (a proxy restarts) and the reply is sent again, the server keeps it once.
    const hid = state.open && state.open.hid;
    if (!state.unsent || state.unsent.text !== text || state.unsent.hid !== hid) {
      state.unsent = { text, hid, id: newReplyId() };
    }
    const entry = await act($('send'), 'messages', { text, id: state.unsent.id });
    if (entry) {
      state.unsent = null;
      addEntry(entry);
      $('reply').value = '';
      $('canned').value = '';
    }
  }

  function onReplyKey(event) {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      const form = $('reply-form');
      if (form.requestSubmit) form.requestSubmit();
      else onSend(event);
    }
  }

  function onReplyInput() {
    const now = Date.now();
    if (!state.open || now - state.lastTypingSent < TYPING_SEND_MS) return;
    if (sendSocket({ type: 'typing', hid: state.open.hid })) state.lastTypingSent = now;
  }

  function onCannedChange() {
    const reply = state.canned[Number($('canned').value)];
    if ($('canned').value === '' || !reply) return;
    $('reply').value = reply.text;
    $('reply').focus();
  }

  async function onAddNote(event) {
    event.preventDefault();
    const text = $('note-text').value.trim();
    if (!text) return setStatus(t('write_note_first'));
    const entry = await act($('add-note'), 'notes', { text });
    if (entry) {
      addEntry(entry);
      $('note-text').value = '';
    }
  }

  function afterHandover(message) {
    show($('composer'), false);
    setStatus(message, 'info');
    refreshQueue();
    reloadOpen();
  }

  async function onRelease() {
    if (await act($('release'), 'release')) afterHandover(t('released'));
  }

  async function onTransfer() {
    const to = $('transfer-to').value;
    if (!to) return setStatus(t('choose_colleague_first'));
    if (await act($('transfer'), 'transfer', { to })) afterHandover(t('transferred', { name: staffName(to) }));
  }

  function outcomeNeedsReferral() {
    const outcome = state.registration.outcomes[$('close-outcome').value];
    return Boolean(outcome && outcome.needs_referral);
  }

  function updateReferralVisibility() {
    const needed = outcomeNeedsReferral();
    show($('close-referral-row'), needed);
    show($('close-referral'), needed);
    $('close-referral').required = needed;
  }

  async function onClose(event) {
    event.preventDefault();
    const body = { topic: $('close-topic').value, outcome: $('close-outcome').value };
    if (!body.topic) return setStatus(t('choose_topic_first'));
    if (!body.outcome) return setStatus(t('choose_outcome_first'));
    if (outcomeNeedsReferral()) {
      body.referred_to = $('close-referral').value;
      if (!body.referred_to) return setStatus(t('choose_referral_first'));
    }
    if ($('close-asker').value) body.asker = $('close-asker').value;
    if (await act($('close-submit'), 'close', body)) {
      $('close-form').reset();
      updateReferralVisibility();
      afterHandover(t('closed'));
    }
  }

  async function onAnswer() {
    const text = $('answer-text').value.trim();
    if (!text) return setStatus(t('write_answer_first'));
    if (await act($('answer-send'), 'answer', { text })) {
      $('answer-text').value = '';
      show($('answer-box'), false);
      setStatus(t('answer_sent'), 'info');
      refreshQueue();
      reloadOpen();
    }
  }

  // --- callback requests -----------------------------------------------------------------
  // Listed beside chats and left messages. The number is fetched only on "Toon nummer", only
  // for the staff member who claimed the request (the server checks and audits it), and never
  // kept after the list is drawn again. Labels come from content/staff_console.yml.

  const callbacks = { items: [], labels: {}, numbers: new Map(), timer: null };

  function callbackLabel(key) {
    return callbacks.labels[key] || t(`callback_${key}`);
  }

  function scheduleCallbackRefresh() {
    clearTimeout(callbacks.timer);
    callbacks.timer = setTimeout(refreshCallbacks, DEBOUNCE_MS);
  }

  async function refreshCallbacks() {
    if (!state.me) return;
    try {
      const data = await api('GET', '/callbacks');
      callbacks.items = Array.isArray(data.callbacks) ? data.callbacks : [];
      callbacks.labels = data.labels && typeof data.labels === 'object' ? data.labels : {};
      const ids = new Set(callbacks.items.map((c) => c.id));
      for (const id of [...callbacks.numbers.keys()]) if (!ids.has(id)) callbacks.numbers.delete(id);
      renderCallbacks();
    } catch (err) {
      handleError(err);
    }
  }

  function callbackButton(action, label) {
    const button = el('button', `callback-${action}`, label);
    button.type = 'button';
    button.dataset.action = action;
    return button;
  }

  function callbackItem(c) {
    const me = state.me ? state.me.username : '';
    const li = el('li', 'callback-item');
    li.dataset.cbid = c.id;
    const head = el('div', 'item-head');
    head.append(el('span', 'reason', `${callbackLabel('title')}: ${c.daypart || ''}`));
    li.append(head, el('div', 'item-meta', [c.when, describe(c)].filter(Boolean).join(' · ')));
    if (c.attempts > 0) li.append(el('div', 'item-meta', `${callbackLabel('attempts')}: ${c.attempts}`));
    if (!c.number_kept) li.append(el('div', 'item-meta callback-expired', callbackLabel('expired')));
    const actions = el('div', 'callback-actions');
    if (c.state === 'waiting') {
      actions.append(callbackButton('claim', callbackLabel('claim')));
    } else if (c.staff === me) {
      const number = callbacks.numbers.get(c.id);
      if (number) {
        li.append(el('div', 'callback-number', number));
      } else if (c.number_kept) {
        actions.append(callbackButton('number', callbackLabel('show_number')));
      }
      actions.append(
        callbackButton('reached', callbackLabel('reached')),
        callbackButton('not_reached', callbackLabel('not_reached')),
        callbackButton('retry', callbackLabel('retry')),
      );
    } else {
      li.append(el('div', 'item-meta', `${callbackLabel('with')} ${staffName(c.staff)}`));
    }
    li.append(actions);
    return li;
  }

  function renderCallbacks() {
    $('callbacks').replaceChildren(...callbacks.items.map(callbackItem));
    show($('callbacks-empty'), callbacks.items.length === 0);
  }

  async function onCallbackClick(event) {
    const button = event.target.closest('button[data-action]');
    const li = event.target.closest('li[data-cbid]');
    if (!button || !li) return;
    const path = `/callbacks/${encodeURIComponent(li.dataset.cbid)}`;
    const action = button.dataset.action;
    button.disabled = true;
    try {
      if (action === 'claim') {
        await api('POST', `${path}/claim`);
      } else if (action === 'number') {
        const data = await api('GET', `${path}/number`);
        callbacks.numbers.set(li.dataset.cbid, String(data.number || ''));
      } else {
        await api('POST', `${path}/outcome`, { outcome: action });
        callbacks.numbers.delete(li.dataset.cbid);
        setStatus(callbackLabel('registered'), 'info');
      }
      await refreshCallbacks();
    } catch (err) {
      handleError(err);
      refreshCallbacks();
    } finally {
      button.disabled = false;
    }
  }

  // --- sound -----------------------------------------------------------------------------

  // Browsers only allow audio after a user gesture, so the context is made on the first one.
  function unlockAudio() {
    if (state.audio) return;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      state.audio = new Context();
    } catch (err) {
      state.audio = null;
    }
  }

  function beep() {
    const ctx = state.audio;
    if (!ctx) return;
    if (ctx.state === 'suspended') ctx.resume();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    const now = ctx.currentTime;
    osc.type = 'sine';
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, now);
    gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.2);
    osc.connect(gain).connect(ctx.destination);
    osc.start(now);
    osc.stop(now + 0.21);
  }

  // --- websocket -------------------------------------------------------------------------

  function sendSocket(data) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN) return false;
    state.ws.send(JSON.stringify(data));
    return true;
  }

  // The server answers again: do not wait for the backoff timer to reconnect.
  function nudgeSocket() {
    if (state.me && !state.ws && state.wsAttempt > 0) {
      clearTimeout(state.reconnectTimer);
      connectSocket();
    }
  }

  function connectSocket() {
    if (!state.me || state.ws) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try {
      ws = new WebSocket(`${proto}//${location.host}${API}/ws`);
    } catch (err) {
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    ws.addEventListener('open', () => onSocketOpen(ws));
    ws.addEventListener('message', (event) => onSocketMessage(event));
    ws.addEventListener('close', (event) => onSocketClose(ws, event));
  }

  function onSocketOpen(ws) {
    if (state.ws !== ws) return;
    const wasReconnecting = state.wsAttempt > 0;
    state.wsAttempt = 0;
    clearInterval(state.pingTimer);
    state.pingTimer = setInterval(() => sendSocket({ type: 'ping' }), PING_MS);
    if (state.wantHid) sendSocket({ type: 'watch', hid: state.wantHid });
    if (wasReconnecting) {
      if ($('status-line').textContent === t('reconnecting')) setStatus(t('reconnected'), 'info');
      // Events may have been missed while away: fetch the current picture again.
      refreshQueue();
      scheduleCallbackRefresh();
      loadStaff();
      reloadOpen();
    }
  }

  function onSocketClose(ws, event) {
    if (state.ws !== ws) return;
    state.ws = null;
    clearInterval(state.pingTimer);
    if (!state.me) return;
    if (event && event.code === LOGGED_OUT_CODE) {
      // Logged out elsewhere, the session expired or the account was removed: no reconnecting.
      endSession();
      const errorBox = $('login-error');
      errorBox.textContent = event.reason || t('logged_out');
      show(errorBox, true);
      setStatus(event.reason || t('logged_out'), 'error', true);
      return;
    }
    setStatus(t('reconnecting'), 'error', true);
    scheduleReconnect();
  }

  function scheduleReconnect() {
    const delay = BACKOFF_MS[Math.min(state.wsAttempt, BACKOFF_MS.length - 1)];
    state.wsAttempt += 1;
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = setTimeout(reconnect, delay);
  }

  // Before reconnecting, check the session: an expired one should show the login form.
  async function reconnect() {
    if (!state.me) return;
    try {
      await api('GET', '/me');
    } catch (err) {
      if (err.status === 401) {
        handleError(err);
        return;
      }
    }
    connectSocket(); // no-op when a successful call already reconnected
  }

  function onSocketMessage(event) {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch (err) {
      return;
    }
    if (data && typeof data === 'object') handleEvent(data);
  }

  function handleEvent(data) {
    const openHid = state.open ? state.open.hid : null;
    if (data.type === 'feed' && data.status === 'lost') {
      setStatus(data.message || t('feed_lost'), 'error', true);
    } else if (data.type === 'resync') {
      // The server's line to the database was interrupted: events may be missing, fetch anew.
      setStatus(data.message || t('feed_back'), 'info');
      refreshQueue();
      scheduleCallbackRefresh();
      loadStaff();
      reloadOpen();
      if (!$('panel-history').hidden) loadHistory();
    } else if (QUEUE_EVENTS.includes(data.type)) {
      scheduleQueueRefresh();
      if (data.type === 'presence') scheduleStaffRefresh();
      if (data.hid && data.hid === state.wantHid && data.type !== 'queue') reloadOpen();
      if (data.type === 'closed' && !$('panel-history').hidden) loadHistory();
    } else if (data.type === 'message' && data.hid === openHid) {
      addEntry(data.entry);
    } else if (data.type === 'typing' && data.who === 'user' && data.hid === openHid) {
      showUserTyping();
    } else if (data.type === 'callbacks') {
      scheduleCallbackRefresh();
    } else if (data.type === 'urgent_limited' && typeof data.text === 'string') {
      showFloodNotice(data.text);
      scheduleQueueRefresh();
    }
  }

  // --- start -----------------------------------------------------------------------------

  function bind() {
    $('login-form').addEventListener('submit', onLogin);
    $('logout').addEventListener('click', onLogout);
    $('flood-notice').addEventListener('click', () => { $('flood-notice').hidden = true; });
    $('presence').addEventListener('change', onPresenceChange);
    $('tab-queue').addEventListener('click', () => selectTab('queue'));
    $('tab-history').addEventListener('click', () => selectTab('history'));
    for (const id of ['queue', 'mine', 'others', 'left-messages', 'history']) {
      $(id).addEventListener('click', onListClick);
    }
    $('panel-close').addEventListener('click', closeConversation);
    $('reply-form').addEventListener('submit', onSend);
    $('reply').addEventListener('keydown', onReplyKey);
    $('reply').addEventListener('input', onReplyInput);
    $('canned').addEventListener('change', onCannedChange);
    $('note-form').addEventListener('submit', onAddNote);
    $('release').addEventListener('click', onRelease);
    $('transfer').addEventListener('click', onTransfer);
    $('close-outcome').addEventListener('change', updateReferralVisibility);
    $('close-form').addEventListener('submit', onClose);
    $('answer-send').addEventListener('click', onAnswer);
    $('callbacks').addEventListener('click', onCallbackClick);
    $('audit-open').addEventListener('click', openAudit);
    $('audit-close').addEventListener('click', closeAudit);
    document.addEventListener('pointerdown', unlockAudio, { once: true });
    document.addEventListener('keydown', unlockAudio, { once: true });
    setInterval(refreshWaitTimes, WAIT_REFRESH_MS);
    setInterval(refreshRoutingLines, WAIT_REFRESH_MS);
  }

  async function init() {
    bind();
    // Every text the console shows itself comes from the server (staff-api.js).
    const texts = await window.cjgStaffApi.loadTexts((err) => setStatus(err.message, 'error', true));
    state.texts = { console: texts.console || {}, messages: texts.messages || {} };
    window.cjgStaffApi.applyTexts(state.texts.console); // the page's headings, labels, buttons
    state.baseTitle = document.title;
    setStatus('');
    try {
      startSession(await api('GET', '/me'));
    } catch (err) {
      if (err.status !== 401) setStatus(err.message);
      showLogin();
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
