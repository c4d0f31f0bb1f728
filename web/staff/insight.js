// Insight dashboard for the CJG Kennemerland chat service (/staff/insight).
// Plain browser JavaScript (ES2020), no build step. All server text goes through textContent;
// the charts come from the vendored Chart.js (chart.umd.min.js, loaded before this file).
'use strict';

(() => {
  const API = '/staff/api';
  const LOGIN_PAGE = '/staff';
  const CSV_PATH = '/staff/api/insight.csv';
  const REPORT_PATH = '/staff/insight/report';
  const DEFAULT_DAYS = 56; // eight weeks back from today
  // Distinguishable colours with enough contrast on white.
  const COLOURS = ['#0b4f8a', '#c05600', '#1e6b34', '#a3001b', '#6b3fa0', '#00707a', '#8a6d00', '#5a6b7b'];
  const KINDS = ['fallback', 'unsure']; // of an unclear question: its label is kind_<kind>

  const state = {
    texts: {}, // content/staff_console.yml's "insight", read first (init)
    me: null,
    csrf: '',
    seq: 0, // the newest insight request; older answers are dropped
    charts: new Map(), // canvas id -> Chart
    unclear: [],
    intents: [],
    justMarked: new Set(), // items marked on this page stay visible until the filter changes
  };

  // --- small helpers ---------------------------------------------------------------------

  const { $, el, show, pad, setOptions } = window.cjgStaffApi; // staff-api.js, loaded first

  // A Dutch text of content/staff_console.yml ("insight"), its words in braces filled in.
  function t(key, values = {}) {
    return window.cjgStaffApi.fill(state.texts[key] || key, values);
  }

  function isoDate(d) {
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  function isIsoDate(value) {
    return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value);
  }

  // "2026-11-23" -> "23-11-2026"
  function dutchDate(iso) {
    return isIsoDate(iso) ? iso.split('-').reverse().join('-') : iso || '';
  }

  // "2026-11-23T16:00" (local time) -> "23-11-2026 16:00"
  function dutchDateTime(value) {
    const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})/.exec(String(value || ''));
    return m ? `${m[3]}-${m[2]}-${m[1]} ${m[4]}:${m[5]}` : String(value || '');
  }

  function num(value) {
    return typeof value === 'number' && Number.isFinite(value) ? value : 0;
  }

  // Dutch style: no separator up to four digits, a dot from five digits on.
  function count(value) {
    const n = num(value);
    return Math.abs(n) >= 10000 ? n.toLocaleString('nl-NL') : String(n);
  }

  function percent(share) {
    if (typeof share !== 'number' || !Number.isFinite(share)) return '–';
    return `${Math.round(share * 100)}%`;
  }

  function decimal(value) {
    return value.toFixed(1).replace('.', ',');
  }

  function duration(seconds) {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return null;
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return t('duration_seconds', { seconds: s });
    if (s < 3600) return t('duration_minutes', { minutes: Math.round(s / 60) });
    const hours = Math.floor(s / 3600);
    const minutes = Math.round((s % 3600) / 60);
    return minutes ? t('duration_hours_minutes', { hours, minutes }) : t('duration_hours', { hours });
  }

  function list(value) {
    return Array.isArray(value) ? value : [];
  }

  // --- status line -----------------------------------------------------------------------

  function setStatus(text, kind = 'error') {
    const line = $('insight-status');
    line.textContent = text || '';
    line.classList.toggle('is-error', kind === 'error' && Boolean(text));
    line.classList.toggle('is-info', kind === 'info' && Boolean(text));
  }

  // --- API -------------------------------------------------------------------------------

  const { ApiError } = window.cjgStaffApi; // staff-api.js, loaded first

  async function api(method, path, body) {
    const data = await window.cjgStaffApi.request(method, API + path, body, state.csrf);
    return data;
  }

  function toLogin() {
    location.assign(LOGIN_PAGE);
  }

  // Shows an API error in the status line; a lost session goes back to the login page.
  function handleError(err) {
    if (err instanceof ApiError && err.status === 401) {
      toLogin();
      return;
    }
    setStatus(err && err.message ? err.message : t('error_generic'));
  }

  // --- filters ---------------------------------------------------------------------------

  function defaultPeriod() {
    const today = new Date();
    const from = new Date(today.getFullYear(), today.getMonth(), today.getDate() - DEFAULT_DAYS);
    return { from: isoDate(from), to: isoDate(today) };
  }

  // Starts from the page's own query string (so a reload keeps the filter), else the defaults.
  function initFilters() {
    const params = new URLSearchParams(location.search);
    const period = defaultPeriod();
    const from = params.get('from');
    const to = params.get('to');
    $('filter-from').value = isIsoDate(from) ? from : period.from;
    $('filter-to').value = isIsoDate(to) ? to : period.to;
    $('filter-by').value = params.get('by') === 'month' ? 'month' : 'week';
    // The channel and municipality options come with the first answer (their Dutch names are
    // in content/insight.yml); remember the wish until then.
    keepWish($('filter-channel'), params.get('channel'));
    keepWish($('filter-municipality'), params.get('municipality'));
  }

  function keepWish(select, value) {
    if (!value) return;
    if (![...select.options].some((o) => o.value === value)) select.append(new Option(value, value));
    select.value = value;
  }

  function filterQuery() {
    const params = new URLSearchParams();
    params.set('from', $('filter-from').value);
    params.set('to', $('filter-to').value);
    params.set('by', $('filter-by').value === 'month' ? 'month' : 'week');
    const channel = $('filter-channel').value;
    const municipality = $('filter-municipality').value;
    if (channel) params.set('channel', channel);
    if (municipality) params.set('municipality', municipality);
    return params.toString();
  }

  function filterProblem() {
    const from = $('filter-from').value;
    const to = $('filter-to').value;
    if (!isIsoDate(from) || !isIsoDate(to)) return t('filter_dates_missing');
    if (from > to) return t('filter_dates_order');
    return '';
  }

  function updateLinks() {
    const query = filterQuery();
    const csv = $('csv-link');
    csv.href = `${CSV_PATH}?${query}`;
    csv.download = `cjg-cijfers-${$('filter-from').value}-${$('filter-to').value}.csv`;
    updateReportLink();
    try {
      history.replaceState(null, '', `${location.pathname}?${query}`);
    } catch (err) {
      // Only a convenience (a reload keeps the filter).
    }
  }

  // --- quarterly report ------------------------------------------------------------------

  function initQuarters() {
    const today = new Date();
    let year = today.getFullYear();
    let quarter = Math.floor(today.getMonth() / 3) + 1;
    const pairs = [];
    for (let i = 0; i < 5; i++) {
      const label = t(i === 0 ? 'quarter_running' : 'quarter', { quarter, year });
      pairs.push([`${year}-Q${quarter}`, label]);
      quarter -= 1;
      if (quarter === 0) {
        quarter = 4;
        year -= 1;
      }
    }
    setOptions($('report-quarter'), pairs);
    $('report-quarter').value = pairs[0][0];
    updateReportLink();
  }

  function updateReportLink() {
    const quarter = $('report-quarter').value;
    $('report-link').href = `${REPORT_PATH}?quarter=${encodeURIComponent(quarter)}`;
  }

  // --- tiles -----------------------------------------------------------------------------

  function setTile(id, value, detail) {
    const tile = $(id);
    tile.querySelector('.tile-value').textContent = value;
    tile.querySelector('.tile-detail').textContent = detail || '';
  }

  function scores(n) {
    return t(n === 1 ? 'scores_one' : 'scores_many', { count: count(n) });
  }

  function renderTiles(data) {
    const totals = data.totals && typeof data.totals === 'object' ? data.totals : {};
    const ratings = data.ratings && typeof data.ratings === 'object' ? data.ratings : {};
    const conversations = num(totals.conversations);
    setTile('tile-conversations', count(conversations), totals.anonymous !== undefined ? t('tile_anonymous', { count: count(totals.anonymous) }) : '');
    const share = typeof totals.answered_by_bot_share === 'number'
      ? totals.answered_by_bot_share
      : conversations ? num(totals.answered_by_bot) / conversations : null;
    setTile('tile-bot-share', percent(share), t('tile_bot_share', { answered: count(totals.answered_by_bot), conversations: count(conversations) }));
    setTile('tile-handoffs', count(totals.handoffs), t('tile_handoffs'));
    setTile('tile-abandoned', count(totals.abandoned), t('tile_abandoned'));
    if (typeof ratings.average === 'number' && num(ratings.count) > 0) {
      setTile('tile-rating', t('tile_rating', { average: decimal(ratings.average) }), scores(ratings.count));
    } else {
      setTile('tile-rating', t('tile_rating_none'), '');
    }
    setTile('tile-crisis', count(totals.crisis), t('tile_crisis'));
    const shown = num(totals.offers_shown);
    setTile('tile-offers', `${count(shown)} / ${count(totals.offer_clicks)}`,
      shown ? t('tile_offers_clicked', { percent: percent(num(totals.offer_clicks) / shown) }) : t('tile_offers_none'));
    $('figure-anonymous').textContent = count(totals.anonymous);
    $('figure-not-understood').textContent = count(totals.not_understood);
    $('figure-left-messages').textContent = count(totals.left_messages);
    $('figure-divorce').textContent = count(totals.divorce_info);
    $('figure-referred').textContent = count(totals.referred);
    $('figure-callbacks').textContent = count(totals.callbacks);
  }

  function renderPeriod(data) {
    const p = data.period && typeof data.period === 'object' ? data.period : {};
    const by = t(p.by === 'month' ? 'period_by_month' : 'period_by_week');
    $('period-text').textContent = p.from && p.to
      ? t('period', { from: dutchDate(p.from), to: dutchDate(p.to), by })
      : '';
  }

  function renderFilterOptions(data) {
    const options = data.options && typeof data.options === 'object' ? data.options : {};
    const pairs = (items) => list(items).filter((o) => o && o.id).map((o) => [String(o.id), String(o.label || o.id)]);
    const channels = pairs(options.channels);
    if (channels.length) setOptions($('filter-channel'), channels, t('all_channels'));
    setOptions($('filter-municipality'), pairs(options.municipalities), t('all_municipalities'));
  }

  // --- charts ----------------------------------------------------------------------------

  function chartsAvailable() {
    return typeof window.Chart === 'function';
  }

  function configureChartJs() {
    if (!chartsAvailable()) return;
    const d = window.Chart.defaults;
    d.animation = false; // instant, calm, and nothing moves for people who prefer that
    d.responsive = true;
    d.maintainAspectRatio = false;
    d.color = '#1a1a1a';
    d.borderColor = '#d5d9df';
    d.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
    d.font.size = 13;
    d.locale = 'nl-NL';
  }

  // The parts of one chart: its canvas, the box around it, the empty note and the table.
  function chartPart(canvasId) {
    const canvas = $(canvasId);
    const part = canvas.closest('.chart-part');
    return {
      canvas,
      box: canvas.parentElement,
      empty: part.querySelector('.chart-empty'),
      details: part.querySelector('.chart-data'),
      table: part.querySelector('table'),
    };
  }

  function fillTable(table, head, labels, datasets) {
    const thead = el('thead');
    const headRow = el('tr');
    headRow.append(el('th', '', head));
    for (const ds of datasets) {
      const th = el('th', 'num', ds.label);
      th.scope = 'col';
      headRow.append(th);
    }
    headRow.firstChild.scope = 'col';
    thead.append(headRow);
    const tbody = el('tbody');
    labels.forEach((label, i) => {
      const tr = el('tr');
      const th = el('th', '', label);
      th.scope = 'row';
      tr.append(th);
      for (const ds of datasets) tr.append(el('td', 'num', count(ds.data[i])));
      tbody.append(tr);
    });
    table.replaceChildren(thead, tbody);
  }

  // Long axis labels on several lines (Chart.js takes an array per label), so none is cut off.
  function wrapLabel(text, width = 18) {
    const words = String(text).split(/\s+/).filter(Boolean);
    const lines = [];
    for (const word of words) {
      const last = lines.length ? lines[lines.length - 1] : null;
      if (last !== null && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
      else lines.push(word);
    }
    return lines.length > 1 ? lines : String(text);
  }

  // Draws (or redraws) one chart and its table. spec: {type, head, labels, datasets, options, height};
  // spec.wrap puts long labels on several lines in the chart (the table keeps them whole).
  function drawChart(canvasId, spec) {
    const part = chartPart(canvasId);
    const old = state.charts.get(canvasId);
    if (old) {
      old.destroy();
      state.charts.delete(canvasId);
    }
    const hasData = spec.labels.length > 0 && spec.datasets.some((ds) => ds.data.some((v) => num(v) > 0));
    show(part.empty, !hasData);
    show(part.details, hasData);
    if (!hasData) {
      part.table.replaceChildren();
      show(part.box, false);
      return;
    }
    fillTable(part.table, spec.head, spec.labels, spec.datasets);
    if (!chartsAvailable()) {
      // Without Chart.js the table is the chart.
      show(part.box, false);
      part.details.open = true;
      return;
    }
    show(part.box, true);
    part.box.style.height = spec.height ? `${spec.height}px` : '';
    state.charts.set(canvasId, new window.Chart(part.canvas, {
      type: spec.type,
      data: { labels: spec.wrap ? spec.labels.map((l) => wrapLabel(l)) : spec.labels, datasets: spec.datasets },
      options: spec.options || {},
    }));
  }

  function colour(i) {
    return COLOURS[i % COLOURS.length];
  }

  function counted(items) {
    const rows = list(items).filter((item) => item && typeof item === 'object');
    return {
      labels: rows.map((item) => String(item.label || item.id || '')),
      data: rows.map((item) => num(item.count)),
    };
  }

  function barOptions(horizontal, legend = false) {
    const valueAxis = { beginAtZero: true, ticks: { precision: 0 } };
    return {
      indexAxis: horizontal ? 'y' : 'x',
      plugins: { legend: { display: legend } },
      scales: horizontal ? { x: valueAxis } : { y: valueAxis },
    };
  }

  // One bar per item; horizontal bars get a height that fits every (possibly wrapped) label.
  function drawCounts(canvasId, items, head, seriesLabel, horizontal) {
    const { labels, data } = counted(items);
    const lines = labels.reduce((sum, l) => sum + (Array.isArray(wrapLabel(l)) ? wrapLabel(l).length : 1), 0);
    drawChart(canvasId, {
      type: 'bar',
      head,
      labels,
      wrap: true,
      datasets: [{ label: seriesLabel, data, backgroundColor: COLOURS[0] }],
      options: barOptions(horizontal),
      height: horizontal ? Math.max(180, 22 * lines + 16 * labels.length + 50) : 260,
    });
  }

  function drawShares(canvasId, items, head) {
    const { labels, data } = counted(items);
    drawChart(canvasId, {
      type: 'doughnut',
      head,
      labels,
      datasets: [{ label: t('series_count'), data, backgroundColor: labels.map((_, i) => colour(i)), borderColor: '#ffffff' }],
      options: { plugins: { legend: { position: 'bottom' } } },
      height: 280,
    });
  }

  function drawSeries(data) {
    const rows = list(data.series).filter((s) => s && typeof s === 'object');
    const labels = rows.map((s) => String(s.label || s.period || ''));
    const line = (label, key, i) => ({
      label,
      data: rows.map((s) => num(s[key])),
      borderColor: colour(i),
      backgroundColor: colour(i),
      pointRadius: 3,
      tension: 0.2,
    });
    drawChart('chart-series', {
      type: 'line',
      head: t(data.period && data.period.by === 'month' ? 'head_month' : 'head_week'),
      labels,
      datasets: [
        line(t('series_conversations'), 'conversations', 0),
        line(t('series_answered_by_bot'), 'answered_by_bot', 2),
        line(t('series_handoffs'), 'handoffs', 1),
        line(t('series_abandoned'), 'abandoned', 3),
      ],
      options: {
        interaction: { mode: 'index', intersect: false },
        plugins: { legend: { position: 'bottom' } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
      height: 300,
    });
  }

  function topThemes(items) {
    return list(items)
      .filter((item) => item && typeof item === 'object')
      .slice()
      .sort((a, b) => num(b.count) - num(a.count));
  }

  function percentileNote(block, who) {
    const b = block && typeof block === 'object' ? block : {};
    const n = num(b.count);
    const p50 = duration(b.p50_seconds);
    const p90 = duration(b.p90_seconds);
    const p99 = duration(b.p99_seconds);
    if (!n || !p50) return t('percentile_none', { count: count(n), who });
    const values = { p50, p90: p90 || '–', p99: p99 || '–', count: count(n), who };
    return t(p90 ? 'percentile' : 'percentile_without_p90', values);
  }

  function drawHistogram(canvasId, noteId, block, who) {
    const b = block && typeof block === 'object' ? block : {};
    $(noteId).textContent = percentileNote(b, who);
    const rows = list(b.histogram).map((h, i) => ({ id: String(i), label: h && h.label, count: h && h.count }));
    drawCounts(canvasId, rows, t('head_duration'), t('series_count'), false);
  }

  function drawRatings(data) {
    const r = data.ratings && typeof data.ratings === 'object' ? data.ratings : {};
    const dist = list(r.distribution).filter((d) => d && typeof d === 'object');
    const byScore = new Map(dist.map((d) => [Number(d.score), num(d.count)]));
    $('ratings-note').textContent = typeof r.average === 'number' && num(r.count) > 0
      ? t('ratings_note', { average: decimal(r.average), scores: scores(r.count) })
      : t('ratings_none');
    const rows = [1, 2, 3, 4, 5].map((s) => ({ id: String(s), label: t('score_of_5', { score: s }), count: byScore.get(s) || 0 }));
    drawCounts('chart-ratings', rows, t('head_score'), t('series_scores'), false);
  }

  // "Heb je hier genoeg aan om zelf verder te kunnen?": ja / een beetje / nee, after the bot
  // and after a chat with a staff member, side by side.
  function drawEnough(data) {
    const e = data.enough && typeof data.enough === 'object' ? data.enough : {};
    const part = (key) => (e[key] && typeof e[key] === 'object' ? e[key] : {});
    const rows = (key) => list(part(key).distribution).filter((d) => d && typeof d === 'object');
    const labels = rows('bot').map((d) => String(d.label || d.id || ''));
    const total = num(part('bot').count) + num(part('staff').count);
    $('enough-note').textContent = total > 0
      ? t('enough_note', { bot: count(num(part('bot').count)), staff: count(num(part('staff').count)) })
      : t('enough_none');
    drawChart('chart-enough', {
      type: 'bar',
      head: t('head_answer'),
      labels,
      datasets: [
        { label: t('enough_after_bot'), data: rows('bot').map((d) => num(d.count)), backgroundColor: colour(0) },
        { label: t('enough_after_staff'), data: rows('staff').map((d) => num(d.count)), backgroundColor: colour(1) },
      ],
      options: barOptions(false, true),
      height: 260,
    });
  }

  function renderCharts(data) {
    drawSeries(data);
    const conversations = t('series_conversations');
    drawCounts('chart-themes', topThemes(data.themes), t('head_theme'), conversations, true);
    drawCounts('chart-outcomes', data.outcomes, t('head_outcome'), conversations, true);
    drawHistogram('chart-waiting', 'waiting-note', data.waiting, t('who_waiting'));
    drawHistogram('chart-handling', 'handling-note', data.handling, t('who_conversations'));
    drawRatings(data);
    drawEnough(data);
    drawShares('chart-users', data.user_types, t('head_user_type'));
    drawShares('chart-channels', data.channels, t('head_channel'));
    drawCounts('chart-municipalities', data.municipalities, t('head_municipality'), conversations, true);
    drawCounts('chart-ages', data.age_bands, t('head_age'), conversations, false);
    drawCounts('chart-referrals', data.referrals, t('head_referred_to'), t('series_referrals'), true);
  }

  // --- loading ---------------------------------------------------------------------------

  function setReady(ready) {
    document.body.dataset.ready = ready ? '1' : '0';
  }

  // Fetches and renders the figures for the current filter. Resolves true when rendered.
  async function loadInsight() {
    const seq = ++state.seq;
    setReady(false);
    const problem = filterProblem();
    if (problem) {
      setStatus(problem);
      return false;
    }
    updateLinks();
    $('main').setAttribute('aria-busy', 'true');
    try {
      const data = await api('GET', `/insight?${filterQuery()}`);
      if (seq !== state.seq) return false; // a newer filter won
      renderFilterOptions(data);
      renderPeriod(data);
      renderTiles(data);
      renderCharts(data);
      setStatus(chartsAvailable() ? '' : t('charts_missing'), 'info');
      return true;
    } catch (err) {
      if (seq === state.seq) handleError(err);
      return false;
    } finally {
      if (seq === state.seq) $('main').removeAttribute('aria-busy');
    }
  }

  async function reload() {
    const seq = state.seq + 1;
    const ok = await loadInsight();
    if (ok && seq === state.seq) setReady(true);
  }

  function onFilterChange() {
    reload();
  }

  function onFilterSubmit(event) {
    event.preventDefault();
    reload();
  }

  // --- unclear questions -----------------------------------------------------------------

  function intentLabel(id) {
    const found = state.intents.find((i) => i.id === id);
    return found ? found.label : id || '';
  }

  function markText(mark) {
    if (!mark || typeof mark !== 'object') return '';
    switch (mark.as) {
      case 'example': return t('mark_example', { intent: intentLabel(mark.intent) });
      case 'topic': return mark.note ? t('mark_topic_note', { note: mark.note }) : t('mark_topic');
      case 'ignore': return t('mark_ignore');
      default: return t('mark_other', { as: mark.as || '' });
    }
  }

  function describeUnclear(item) {
    const parts = [dutchDateTime(item.at), KINDS.includes(item.kind) ? t(`kind_${item.kind}`) : item.kind || ''];
    if (item.guess) parts.push(t('maybe', { intent: intentLabel(item.guess) }));
    return parts.filter(Boolean).join(' · ');
  }

  let controlSeq = 0;

  function unclearItem(item) {
    const n = ++controlSeq;
    const li = el('li', 'unclear-item');
    li.dataset.id = item.id;
    li.classList.toggle('marked', Boolean(item.mark));
    li.append(el('p', 'unclear-text', item.text), el('p', 'unclear-meta', describeUnclear(item)));
    const mark = el('p', 'unclear-mark', markText(item.mark));
    show(mark, Boolean(item.mark));
    li.append(mark);

    const actions = el('div', 'unclear-actions');

    const exampleForm = el('form', 'unclear-form unclear-example-form');
    const intentId = `unclear-intent-${n}`;
    const intentLabelNode = el('label', '', t('example_for'));
    intentLabelNode.htmlFor = intentId;
    const select = el('select', 'unclear-intent');
    select.id = intentId;
    select.append(new Option(t('choose_topic'), ''));
    for (const intent of state.intents) select.append(new Option(intent.label, intent.id));
    const preset = item.mark && item.mark.as === 'example' ? item.mark.intent : item.guess;
    if (preset && state.intents.some((i) => i.id === preset)) select.value = preset;
    const exampleButton = el('button', 'unclear-example', t('save_example'));
    exampleButton.type = 'submit';
    exampleForm.append(intentLabelNode, select, exampleButton);

    const topicForm = el('form', 'unclear-form unclear-topic-form');
    const noteId = `unclear-note-${n}`;
    const noteLabel = el('label', '', t('new_topic_label'));
    noteLabel.htmlFor = noteId;
    const note = el('input', 'unclear-note');
    note.id = noteId;
    note.type = 'text';
    note.maxLength = 200;
    note.autocomplete = 'off';
    if (item.mark && item.mark.as === 'topic' && item.mark.note) note.value = item.mark.note;
    const topicButton = el('button', 'unclear-topic button-secondary', t('new_topic'));
    topicButton.type = 'submit';
    topicForm.append(noteLabel, note, topicButton);

    const ignoreButton = el('button', 'unclear-ignore button-secondary', t('ignore'));
    ignoreButton.type = 'button';

    actions.append(exampleForm, topicForm, ignoreButton);
    li.append(actions, el('p', 'unclear-error', ''));
    li.lastChild.setAttribute('role', 'alert');
    return li;
  }

  function renderUnclear() {
    const openOnly = $('unclear-open-only').checked;
    const items = state.unclear.filter((item) => !openOnly || !item.mark || state.justMarked.has(item.id));
    $('unclear-list').replaceChildren(...items.map(unclearItem));
    const empty = $('unclear-empty');
    empty.textContent = t(state.unclear.length ? 'all_marked' : 'no_unclear');
    show(empty, items.length === 0);
    const open = state.unclear.filter((item) => !item.mark).length;
    $('unclear-count').textContent = t('unclear_count', { open: count(open), total: count(state.unclear.length) });
  }

  async function loadUnclear() {
    try {
      const data = await api('GET', '/insight/unclear');
      state.intents = list(data.intents)
        .filter((i) => i && i.id)
        .map((i) => ({ id: String(i.id), label: String(i.label || i.id) }));
      state.unclear = list(data.items)
        .filter((i) => i && i.id !== undefined && i.id !== null)
        .map((i) => ({ ...i, id: String(i.id), text: String(i.text || '') }));
      state.justMarked.clear();
      renderUnclear();
    } catch (err) {
      handleError(err);
    }
  }

  function itemFor(li) {
    return state.unclear.find((item) => item.id === li.dataset.id);
  }

  function itemError(li, text) {
    const box = li.querySelector('.unclear-error');
    box.textContent = text || '';
  }

  async function markItem(li, body, button) {
    const item = itemFor(li);
    if (!item) return;
    itemError(li, '');
    const buttons = li.querySelectorAll('button');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      const data = await api('POST', `/insight/unclear/${encodeURIComponent(item.id)}`, body);
      const answered = data && data.mark && typeof data.mark === 'object' ? data.mark
        : data && data.item && data.item.mark && typeof data.item.mark === 'object' ? data.item.mark
          : body;
      item.mark = answered;
      state.justMarked.add(item.id);
      const fresh = unclearItem(item);
      li.replaceWith(fresh);
      // Keep keyboard users where they were.
      const again = fresh.querySelector(`.${button.classList[0]}`);
      if (again) again.focus();
      const open = state.unclear.filter((i) => !i.mark).length;
      $('unclear-count').textContent = t('unclear_count', { open: count(open), total: count(state.unclear.length) });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        toLogin();
        return;
      }
      itemError(li, err && err.message ? err.message : t('error_generic'));
      buttons.forEach((b) => { b.disabled = false; });
    }
  }

  function onUnclearSubmit(event) {
    const form = event.target.closest('form');
    const li = event.target.closest('li.unclear-item');
    if (!form || !li) return;
    event.preventDefault();
    if (form.classList.contains('unclear-example-form')) {
      const intent = form.querySelector('.unclear-intent').value;
      if (!intent) {
        itemError(li, t('choose_intent_first'));
        form.querySelector('.unclear-intent').focus();
        return;
      }
      markItem(li, { as: 'example', intent }, form.querySelector('.unclear-example'));
    } else if (form.classList.contains('unclear-topic-form')) {
      const input = form.querySelector('.unclear-note');
      const note = input.value.trim();
      if (!note) {
        itemError(li, t('write_topic_first'));
        input.focus();
        return;
      }
      markItem(li, { as: 'topic', note }, form.querySelector('.unclear-topic'));
    }
  }

  function onUnclearClick(event) {
    const button = event.target.closest('button.unclear-ignore');
    const li = event.target.closest('li.unclear-item');
    if (button && li) markItem(li, { as: 'ignore' }, button);
  }

  function onOpenOnlyChange() {
    state.justMarked.clear();
    renderUnclear();
  }

  // --- session ---------------------------------------------------------------------------

  async function onLogout() {
    $('logout').disabled = true;
    try {
      await api('POST', '/logout');
    } catch (err) {
      // Leaving is what matters; the session expires on its own.
    }
    toLogin();
  }

  function startSession(me) {
    state.me = me;
    state.csrf = me.csrf || '';
    $('user-name').textContent = t('logged_in_as', { name: me.name || me.username || '' });
    show($('console-link'), me.role !== 'insight');
    show($('session-controls'), true);
  }

  // --- start -----------------------------------------------------------------------------

  function bind() {
    $('insight-filters').addEventListener('change', onFilterChange);
    $('insight-filters').addEventListener('submit', onFilterSubmit);
    $('report-quarter').addEventListener('change', updateReportLink);
    $('logout').addEventListener('click', onLogout);
    $('unclear-list').addEventListener('submit', onUnclearSubmit);
    $('unclear-list').addEventListener('click', onUnclearClick);
    $('unclear-open-only').addEventListener('change', onOpenOnlyChange);
  }

  async function init() {
    setReady(false);
    // Every text the page shows itself comes from the server (staff-api.js), before anything.
    state.texts = (await window.cjgStaffApi.loadTexts((err) => setStatus(err.message))).insight || {};
    window.cjgStaffApi.applyTexts(state.texts); // the page's headings, labels, buttons
    setStatus('');
    configureChartJs();
    initFilters();
    initQuarters();
    updateLinks();
    bind();
    let me;
    try {
      me = await api('GET', '/me');
    } catch (err) {
      if (err.status === 401) {
        toLogin();
        return;
      }
      setStatus(err.message);
      return;
    }
    startSession(me);
    const seq = state.seq + 1;
    const [ok] = await Promise.all([loadInsight(), loadUnclear()]);
    if (ok && seq === state.seq) setReady(true);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
