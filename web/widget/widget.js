// Embeddable chat widget for CJG Kennemerland (team Informatie & Advies).
// Plain browser JavaScript (ES2020), no build step. One script tag on the host page:
//   <script src="/widget/widget.js" defer data-title="..." data-subtitle="..."></script>
// All UI lives in an open shadow root so the host page's CSS cannot break it (and vice versa).
// Every text from the server is rendered with textContent only; nothing is ever parsed as markup.
(() => {
  "use strict";

  // currentScript is only set while this file runs for the first time, so capture it now.
  const SCRIPT = document.currentScript || document.querySelector('script[src*="widget.js"]');
  if (!SCRIPT || document.getElementById("cjg-chat") || window.cjgChat) return; // embedded twice

  const STORE_KEY = "cjg-chat";
  const MAX_CHARS = 2000;
  const COUNTER_FROM = 1800;
  const MAX_HISTORY = 200; // messages kept in the log (in memory only)
  const TYPING_HIDE_MS = 6000;
  const USER_TYPING_EVERY_MS = 2000;
  const DOUBLE_ESCAPE_MS = 1000;
  const FORGET_TIMEOUT_MS = 10000;
  const CSS_FALLBACK_MS = 3000;
  // A message that got no answer (assistant or storage away) is sent again after these waits,
  // then given up (30 s in all). The server answers every message within its own time limits.
  const RETRY_DELAYS_MS = [2000, 4000, 8000, 16000];
  const ACK_TIMEOUT_MS = 60000;
  const SVG_NS = "http://www.w3.org/2000/svg";
  const ICON_CHAT = "M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2zm0 14H5.17L4 17.17V4h16v12z";
  const ICON_CLOSE =
    "M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z";

  // Dutch UI texts (B1) from content/widget_texts.yml: the service puts them here when it serves
  // this file (bot/web_widget.py). A page overrides any key with data-strings='{"send": "..."}'.
  const STRINGS = {} /* CJG_WIDGET_TEXTS */;

  // --- configuration from the script tag -------------------------------------------------------

  const scriptUrl = new URL(SCRIPT.src, document.baseURI);
  const data = SCRIPT.dataset;

  function readStrings(raw) {
    if (!raw) return;
    let parsed;
    try {
      parsed = JSON.parse(raw);
    } catch (_) {
      return; // invalid JSON: keep the defaults
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return;
    for (const key of Object.keys(STRINGS)) {
      if (typeof parsed[key] === "string") STRINGS[key] = parsed[key];
    }
  }
  readStrings(data.strings);

  // Socket.IO treats a path in the URL as a namespace, so only the origin is used.
  function readServer(raw) {
    if (raw) {
      try {
        return new URL(raw, scriptUrl).origin;
      } catch (_) {
        /* fall through to the default */
      }
    }
    return scriptUrl.origin;
  }

  function readExitUrl(raw) {
    try {
      const url = new URL(raw || "", scriptUrl);
      if (raw && (url.protocol === "https:" || url.protocol === "http:")) return url.href;
    } catch (_) {
      /* fall through to the default */
    }
    return "https://www.google.nl";
  }

  const cfg = {
    server: readServer(data.server),
    path: data.path || "/socket.io",
    title: data.title || STRINGS.title,
    subtitle: data.subtitle !== undefined ? data.subtitle : STRINGS.subtitle,
    color: data.color || "#00606b",
    colorText: data.colorText || "#ffffff",
    open: data.open === "true",
    exitUrl: readExitUrl(data.exitUrl),
  };

  // --- state in sessionStorage (one tab, cleared when the tab closes) ------------------------------
  // The host page's other scripts can read sessionStorage, so it holds only what resuming needs:
  // the session id, the last message id, open or closed, and the unread count. What was said
  // (the history) stays in this page's memory and is gone after a reload.

  function emptyStore() {
    return { sessionId: null, lastId: "0", open: null, history: [], unread: 0 };
  }

  function loadStore() {
    const store = emptyStore();
    try {
      const parsed = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null");
      if (parsed && typeof parsed === "object") {
        if (typeof parsed.sessionId === "string" && parsed.sessionId) store.sessionId = parsed.sessionId;
        if (parseId(parsed.lastId)) store.lastId = String(parsed.lastId);
        if (typeof parsed.open === "boolean") store.open = parsed.open;
        if (Number.isInteger(parsed.unread) && parsed.unread > 0) store.unread = parsed.unread;
      }
    } catch (_) {
      /* storage blocked or corrupt: start empty */
    }
    return store;
  }

  let exiting = false; // after "Snel weg" nothing may write the entry back

  function saveStore() {
    if (exiting) return;
    if (store.history.length > MAX_HISTORY) store.history.splice(0, store.history.length - MAX_HISTORY);
    const kept = { sessionId: store.sessionId, lastId: store.lastId, open: store.open, unread: store.unread };
    try {
      sessionStorage.setItem(STORE_KEY, JSON.stringify(kept));
    } catch (_) {
      /* quota or privacy mode: the chat still works, it just won't survive a reload */
    }
  }

  // Stream ids are "ms-seq" (Redis); compare them as number pairs, never as strings.
  function parseId(id) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(typeof id === "string" ? id : "");
    return match ? [Number(match[1]), Number(match[2] || 0)] : null;
  }

  function compareIds(a, b) {
    const x = parseId(a) || [0, 0];
    const y = parseId(b) || [0, 0];
    return x[0] - y[0] || x[1] - y[1];
  }

  const store = loadStore();

  // --- small DOM helpers -----------------------------------------------------------------------

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === true) node.setAttribute(key, "");
      else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, String(value));
    }
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function icon(path) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "cjg-icon");
    const shape = document.createElementNS(SVG_NS, "path");
    shape.setAttribute("d", path);
    shape.setAttribute("fill", "currentColor");
    svg.append(shape);
    return svg;
  }

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, (all, key) => (key in values ? String(values[key]) : all));
  }

  const timeFormat = new Intl.DateTimeFormat("nl-NL", { hour: "2-digit", minute: "2-digit" });

  function timeEl(at) {
    const date = new Date(Number.isFinite(at) ? at : Date.now());
    const node = el("time", { class: "cjg-time" }, timeFormat.format(date));
    node.dateTime = date.toISOString();
    return node;
  }

  // --- "je" or "u" ---------------------------------------------------------------------------------
  // Two toggle buttons in the header. Their texts, the payloads they send and which one is on
  // come from the server (cjg_address: content/address.yml and the conversation's choice), so
  // nothing here is Dutch. Hidden until then, and for a youth (youths always get "je").

  const address = { box: null, label: null, buttons: {}, form: null, payloads: {} };
  // The widget's own texts as the page set them (je-form); the server sends the u-form of
  // those that differ (content/address.yml, widget.strings_u).
  const baseStrings = Object.freeze({ ...STRINGS });
  let lastStatus = null;

  function applyStrings(strings) {
    Object.assign(STRINGS, baseStrings);
    for (const key of Object.keys(baseStrings)) {
      if (strings && typeof strings[key] === "string" && strings[key]) STRINGS[key] = strings[key];
    }
    input.placeholder = STRINGS.placeholder;
    inputLabel.textContent = STRINGS.inputLabel;
    if (lastStatus) onStatus({ ...lastStatus, staff_typing: false }); // the queue line
  }

  function addressControl() {
    address.box = el("div", {
      id: "cjg-address",
      class: "cjg-address",
      role: "group",
      "aria-labelledby": "cjg-address-label",
      hidden: true,
    });
    address.label = el("span", { id: "cjg-address-label", class: "cjg-address-label" });
    address.box.append(address.label);
    for (const form of ["je", "u"]) {
      const button = el("button", {
        type: "button",
        id: `cjg-address-${form}`,
        class: "cjg-address-button",
        "aria-pressed": "false",
      });
      button.addEventListener("click", () => chooseAddress(form));
      address.buttons[form] = button;
      address.box.append(button);
    }
    return address.box;
  }

  function chooseAddress(form) {
    const payload = address.payloads[form];
    if (form === address.form || typeof payload !== "string") return;
    sendMessage(payload, null); // the server's answer says it in the new form
  }

  function onAddress(info) {
    const labels = info && typeof info.labels === "object" && info.labels ? info.labels : {};
    const payloads = info && typeof info.payloads === "object" && info.payloads ? info.payloads : {};
    const text = (key) => (typeof labels[key] === "string" ? labels[key] : "");
    const usable =
      info && info.youth !== true && (info.form === "je" || info.form === "u") && text("je") && text("u");
    if (!usable) {
      if (address.box.contains(shadow.activeElement)) input.focus();
      address.box.hidden = true;
      address.form = null;
      applyStrings(null);
      return;
    }
    applyStrings(info.strings);
    address.form = info.form;
    address.payloads = payloads;
    address.label.textContent = text("label");
    for (const form of ["je", "u"]) {
      const button = address.buttons[form];
      button.textContent = text(form);
      const name = text(`${form}_name`);
      if (name) button.setAttribute("aria-label", name);
      else button.removeAttribute("aria-label");
      button.setAttribute("aria-pressed", String(form === info.form));
    }
    address.box.hidden = false;
  }

  // --- build the widget --------------------------------------------------------------------------

  const host = el("div", { id: "cjg-chat" });
  // Colours come in as CSS custom properties; only values the browser accepts as colours.
  if (CSS.supports("color", cfg.color)) host.style.setProperty("--cjg-primary", cfg.color);
  if (CSS.supports("color", cfg.colorText)) host.style.setProperty("--cjg-primary-text", cfg.colorText);
  const shadow = host.attachShadow({ mode: "open" });

  // The root stays hidden until the stylesheet is in, so the page never shows unstyled buttons.
  const root = el("div", { class: "cjg-root", hidden: true });
  const styles = el("link", { rel: "stylesheet", href: new URL("widget.css", scriptUrl).href });
  const reveal = () => {
    if (!root.hidden) return;
    root.hidden = false;
    scrollToBottom(); // a log rendered while hidden had no height to scroll in
  };
  styles.addEventListener("load", reveal);
  styles.addEventListener("error", reveal);
  setTimeout(reveal, CSS_FALLBACK_MS);

  const launcher = el("button", {
    type: "button",
    id: "cjg-launcher",
    class: "cjg-launcher",
    "aria-label": STRINGS.launcher,
    "aria-expanded": "false",
    "aria-controls": "cjg-panel",
    "aria-describedby": "cjg-unread-text",
  });
  const unreadBadge = el("span", { id: "cjg-unread", class: "cjg-unread", "aria-hidden": "true", hidden: true });
  const unreadText = el("span", { id: "cjg-unread-text", class: "cjg-sr-only" });
  launcher.append(icon(ICON_CHAT), unreadBadge);

  const panel = el("div", {
    id: "cjg-panel",
    class: "cjg-panel",
    role: "dialog",
    "aria-labelledby": "cjg-title",
    hidden: true,
  });

  // Header: title + close on the first row, "Gesprek wissen" and "Snel weg" on the second.
  const header = el("div", { class: "cjg-header" });
  const headerTop = el("div", { class: "cjg-header-top" });
  const titles = el("div", { class: "cjg-titles" });
  titles.append(el("h2", { id: "cjg-title", class: "cjg-title" }, cfg.title));
  if (cfg.subtitle) titles.append(el("p", { class: "cjg-subtitle" }, cfg.subtitle));
  const closeBtn = el("button", {
    type: "button",
    id: "cjg-close",
    class: "cjg-icon-button",
    "aria-label": STRINGS.close,
    title: STRINGS.close,
  });
  closeBtn.append(icon(ICON_CLOSE));
  headerTop.append(titles, closeBtn);
  const actions = el("div", { class: "cjg-header-actions" });
  const clearBtn = el("button", { type: "button", id: "cjg-clear", class: "cjg-header-button" }, STRINGS.clear);
  const exitBtn = el(
    "button",
    { type: "button", id: "cjg-exit", class: "cjg-header-button cjg-exit", title: STRINGS.exitHint },
    STRINGS.exit,
  );
  actions.append(clearBtn, exitBtn, addressControl());
  header.append(headerTop, actions);

  // Inline confirmation for "Gesprek wissen" (never window.confirm: it blocks and looks alien).
  const confirmBox = el("div", { id: "cjg-confirm", class: "cjg-confirm", role: "group", hidden: true });
  const confirmText = el("p", { id: "cjg-confirm-text", class: "cjg-confirm-text" }, STRINGS.clearConfirm);
  confirmBox.setAttribute("aria-labelledby", "cjg-confirm-text");
  const clearYes = el("button", { type: "button", id: "cjg-clear-yes", class: "cjg-danger" }, STRINGS.clearYes);
  const clearNo = el("button", { type: "button", id: "cjg-clear-no", class: "cjg-secondary" }, STRINGS.clearNo);
  const confirmButtons = el("div", { class: "cjg-confirm-buttons" });
  confirmButtons.append(clearYes, clearNo);
  confirmBox.append(confirmText, confirmButtons);

  const statusBar = el("p", { id: "cjg-status", class: "cjg-status", role: "status", hidden: true });
  const connectionLine = el("p", { id: "cjg-connection", class: "cjg-connection", role: "status", hidden: true });

  // tabindex makes the scrollable log reachable for keyboard users.
  const log = el("div", {
    id: "cjg-log",
    class: "cjg-log",
    role: "log",
    "aria-live": "polite",
    "aria-label": STRINGS.logLabel,
    tabindex: "0",
  });

  const typing = el("div", { id: "cjg-typing", class: "cjg-typing", hidden: true });
  const typingDots = el("span", { class: "cjg-dots", "aria-hidden": "true" });
  typingDots.append(el("span"), el("span"), el("span"));
  const typingText = el("span", { class: "cjg-typing-text" });
  typing.append(typingDots, typingText);

  const form = el("form", { class: "cjg-form", novalidate: true });
  const inputLabel = el("label", { for: "cjg-input", class: "cjg-sr-only" }, STRINGS.inputLabel);
  const input = el("textarea", {
    id: "cjg-input",
    class: "cjg-input",
    rows: "1",
    maxlength: String(MAX_CHARS),
    placeholder: STRINGS.placeholder,
    "aria-describedby": "cjg-counter",
    autocomplete: "off",
  });
  const sendBtn = el("button", { type: "submit", id: "cjg-send", class: "cjg-send", disabled: true }, STRINGS.send);
  const counter = el("p", { id: "cjg-counter", class: "cjg-counter", hidden: true });
  const inputRow = el("div", { class: "cjg-input-row" });
  inputRow.append(input, sendBtn);
  form.append(inputLabel, inputRow, counter);

  panel.append(header, confirmBox, statusBar, connectionLine, log, typing, form);
  // DOM order is the tab order: launcher, then the panel from top to bottom.
  root.append(launcher, unreadText, panel);
  shadow.append(styles, root);

  // --- rendering messages --------------------------------------------------------------------------

  function senderName(entry) {
    if (entry.from === "user") return STRINGS.userName;
    if (entry.from === "staff") return entry.name || STRINGS.staffName;
    return STRINGS.botName;
  }

  function isNearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
  }

  function renderEntry(entry) {
    const item = el("div", { class: "cjg-msg", "data-from": entry.from });
    if (entry.id) item.dataset.id = entry.id;
    if (entry.used) item.dataset.used = "true";
    if (entry.crisis === true) item.classList.add("cjg-crisis"); // the crisis card stands out
    const meta = el("div", { class: "cjg-meta" });
    meta.append(el("span", { class: "cjg-sender" }, senderName(entry)), " ", timeEl(entry.at));
    item.append(meta);
    if (entry.text) item.append(el("div", { class: "cjg-text" }, entry.text));
    if (Array.isArray(entry.buttons) && entry.buttons.length) {
      const box = el("div", { class: "cjg-buttons" });
      for (const choice of entry.buttons) box.append(renderChoice(entry, item, choice));
      item.append(box);
    }
    log.append(item);
    return item;
  }

  // A payload that is a web address opens in a new tab; anything else is sent back as a message.
  function renderChoice(entry, item, choice) {
    if (/^https?:\/\//i.test(choice.payload)) {
      const link = el("a", {
        class: "cjg-link",
        href: choice.payload,
        target: "_blank",
        rel: "noopener noreferrer",
        "aria-label": `${choice.title} (${STRINGS.newTab})`,
      }, choice.title);
      return link;
    }
    const button = el("button", { type: "button", class: "cjg-button" }, choice.title);
    button.addEventListener("click", () => {
      if (button.disabled || !ready) return; // the connection line already says why
      entry.used = true;
      item.dataset.used = "true";
      sendMessage(choice.payload, choice.title);
      refreshButtons();
    });
    return button;
  }

  // Only the newest message from the CJG side keeps working buttons; older ones are history.
  function refreshButtons() {
    const fromServer = log.querySelectorAll('.cjg-msg:not([data-from="user"])');
    const latest = fromServer[fromServer.length - 1];
    for (const button of log.querySelectorAll("button.cjg-button")) {
      const item = button.closest(".cjg-msg");
      button.disabled = item !== latest || item.dataset.used === "true";
    }
  }

  function addEntry(entry) {
    const stick = isNearBottom() || entry.from === "user";
    store.history.push(entry);
    const node = renderEntry(entry);
    if (store.history.length > MAX_HISTORY && log.firstElementChild) log.firstElementChild.remove();
    refreshButtons();
    if (stick) scrollToBottom();
    return node;
  }

  function clearLog() {
    log.replaceChildren();
  }

  // --- typing indicator, status bar, connection line -------------------------------------------------

  let typingTimer = null;

  function hideTyping() {
    clearTimeout(typingTimer);
    typing.hidden = true;
    typingText.textContent = "";
  }

  function onTyping(info) {
    if (!info || typeof info !== "object") return;
    if (!info.typing) {
      hideTyping();
      return;
    }
    const name = typeof info.name === "string" && info.name.trim() ? info.name.trim() : "";
    if (info.who === "staff") {
      typingText.textContent = name ? fmt(STRINGS.staffTyping, { name }) : STRINGS.staffTypingNoName;
    } else {
      typingText.textContent = STRINGS.botTyping;
    }
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_HIDE_MS); // never leave a stale "typt…" behind
    if (isNearBottom()) scrollToBottom();
  }

  let handoffState = "bot";

  function onStatus(info) {
    if (!info || typeof info !== "object") return;
    lastStatus = info;
    handoffState = typeof info.state === "string" ? info.state : "bot";
    let text = "";
    if (handoffState === "waiting") {
      const position = Number.isInteger(info.position) && info.position > 0 ? info.position : null;
      text = position ? fmt(STRINGS.queue, { position }) : STRINGS.queueNoPosition;
      const minutes = info.estimate_minutes;
      if (Number.isFinite(minutes) && minutes > 0) {
        const rounded = Math.max(1, Math.round(minutes));
        text += ". " + (rounded === 1 ? STRINGS.queueEstimateOne : fmt(STRINGS.queueEstimate, { minutes: rounded }));
      }
    } else if (handoffState === "with_staff") {
      const name = typeof info.staff === "string" && info.staff.trim() ? info.staff.trim() : "";
      text = name ? fmt(STRINGS.staffJoined, { name }) : STRINGS.staffJoinedNoName;
    }
    statusBar.textContent = text;
    statusBar.hidden = !text;
    // A status after a reconnect may say staff is typing right now.
    if (handoffState === "with_staff" && info.staff_typing === true) {
      onTyping({ who: "staff", name: info.staff, typing: true });
    }
  }

  let socket = null;
  let ready = false; // socket connected AND this connection has a confirmed session
  let everConnected = false;
  let loadFailed = false;

  function updateConnectionUI() {
    sendBtn.disabled = !ready;
    // Clearing needs the server, unless there is no server-side session to clear.
    clearYes.disabled = forgetPending || (!ready && !!store.sessionId);
    let text = "";
    if (loadFailed) text = STRINGS.loadFailed;
    else if (!ready) text = everConnected ? STRINGS.reconnecting : STRINGS.connecting;
    else text = retryNotice; // "Dat lukte even niet. Ik probeer het opnieuw…" (from the server)
    connectionLine.textContent = text;
    connectionLine.hidden = !text;
  }

  function updateUnread() {
    const n = store.unread;
    unreadBadge.hidden = n === 0;
    unreadBadge.textContent = n > 99 ? "99+" : String(n);
    unreadText.textContent = n === 0 ? "" : n === 1 ? STRINGS.unreadOne : fmt(STRINGS.unread, { n });
  }

  // --- open / close ------------------------------------------------------------------------------------

  let isOpen = false;

  function setOpen(open, moveFocus) {
    isOpen = open;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    root.classList.toggle("cjg-is-open", open); // on small screens the panel covers the launcher
    store.open = open;
    if (open) {
      store.unread = 0;
      updateUnread();
      scrollToBottom();
      connect();
      maybeGreet();
      if (moveFocus) input.focus();
    } else {
      hideConfirm(false);
      if (moveFocus) launcher.focus();
    }
    saveStore();
  }

  function openPanel() {
    if (!isOpen) setOpen(true, true);
    else input.focus();
  }

  function closePanel(moveFocus = true) {
    if (isOpen) setOpen(false, moveFocus);
  }

  // --- sending ---------------------------------------------------------------------------------------

  // Messages go out one at a time, in order, each with an acknowledgement. When the server says a
  // message got no answer and kept nothing of it (retry_after in the ack: the assistant or its
  // storage is away), the same message goes again by itself after RETRY_DELAYS_MS, with the
  // server's notice on the connection line. The user's bubble stays one bubble. After the last
  // try the server's text is shown, the bubble goes and typed text returns to the text box;
  // when the storage is away it keeps trying instead (every 16 s) until the message is kept.
  const outgoing = []; // {message, typed, entry, node, tries, cards}
  let sending = false;
  let retryTimer = null;
  let retryNotice = "";

  function sendMessage(message, shownText, typed = false) {
    if (!ready) return false;
    const item = {
      message,
      mid: messageId(), // the same id on every try: the server handles the message once
      typed: typed ? shownText : null,
      entry: null,
      node: null,
      tries: 0,
      cards: new Set(),
    };
    if (shownText !== null) {
      item.entry = { from: "user", text: shownText, at: Date.now() };
      item.node = addEntry(item.entry);
    }
    outgoing.push(item);
    saveStore();
    pump();
    return true;
  }

  function messageId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function pump() {
    if (sending || retryTimer || !ready || !outgoing.length) return;
    const item = outgoing[0];
    sending = true;
    const data = { message: item.message, session_id: store.sessionId, cjg_retry: true, cjg_mid: item.mid };
    const emitter = typeof socket.timeout === "function" ? socket.timeout(ACK_TIMEOUT_MS) : socket;
    emitter.emit("user_uttered", data, (err, answer) => {
      sending = false;
      if (outgoing[0] !== item) {
        pump(); // the conversation was reset meanwhile
        return;
      }
      const retry = !err && answer && answer.ok === false && Number.isFinite(answer.retry_after);
      // Storage away (Redis down, a failover): the server kept nothing and acknowledged nothing,
      // so the same message goes again, every 16 s after the first tries, until it is kept.
      // "in_progress": another try of it is still being answered. No acknowledgement at all (the
      // connection dropped, or none in time): the server may have it or not, so it goes again,
      // with the same id, which the server handles once.
      const untilKept =
        err || (retry && (answer.error === "storage_unavailable" || answer.error === "in_progress"));
      if (untilKept || (retry && item.tries < RETRY_DELAYS_MS.length)) {
        if (!err) {
          retryNotice = typeof answer.notice === "string" ? answer.notice : "";
          updateConnectionUI();
        }
        // Disconnected: the reconnect sends it (onSessionConfirm), or this wait when it is over.
        retryTimer = setTimeout(() => {
          retryTimer = null;
          pump();
        }, RETRY_DELAYS_MS[Math.min(item.tries, RETRY_DELAYS_MS.length - 1)]);
        item.tries += 1;
        return;
      }
      // Answered; or refused with a reason the server already showed.
      outgoing.shift();
      if (retry) giveUp(item, answer);
      retryNotice = "";
      updateConnectionUI();
      pump();
    });
  }

  function giveUp(item, answer) {
    if (item.node) {
      item.node.remove();
      const at = store.history.indexOf(item.entry);
      if (at >= 0) store.history.splice(at, 1);
    }
    if (item.typed && !input.value.trim()) {
      input.value = item.typed; // nothing the user wrote gets lost
      onInputChanged();
    }
    hideTyping();
    if (typeof answer.message === "string" && answer.message) {
      addEntry({ from: "bot", text: answer.message, at: Date.now() });
    }
    saveStore();
  }

  function dropOutgoing() {
    outgoing.length = 0;
    clearTimeout(retryTimer);
    retryTimer = null;
    retryNotice = "";
  }

  function sendTyped() {
    const text = input.value.trim();
    if (!text) {
      input.focus();
      return;
    }
    // Text stays in the box when we are offline, so nothing the user wrote gets lost.
    if (sendMessage(text, text, true)) {
      input.value = "";
      onInputChanged();
    }
  }

  // Asks the bot for its welcome message once, for a brand-new conversation that someone looks at.
  // A resumed session is never greeted again: the server replays what it already said.
  let freshSession = false;

  function maybeGreet() {
    if (!ready || !isOpen || !freshSession || store.history.length) return;
    freshSession = false;
    sendMessage("/greet", null);
  }

  let lastTypingSent = 0;

  function onInputChanged() {
    // Grow the textarea with its content; CSS caps it at 4 rows.
    input.style.setProperty("height", "auto");
    const borders = input.offsetHeight - input.clientHeight;
    input.style.setProperty("height", `${input.scrollHeight + borders}px`);
    const count = input.value.length;
    counter.hidden = count <= COUNTER_FROM;
    counter.textContent = counter.hidden ? "" : fmt(STRINGS.counter, { count, max: MAX_CHARS });
  }

  function maybeSendUserTyping() {
    if (!ready || (handoffState !== "waiting" && handoffState !== "with_staff")) return;
    const now = Date.now();
    if (now - lastTypingSent < USER_TYPING_EVERY_MS) return;
    lastTypingSent = now;
    socket.emit("cjg_user_typing", { session_id: store.sessionId });
  }

  // --- "Gesprek wissen" ---------------------------------------------------------------------------

  let forgetPending = false;
  let forgetTimer = null;

  function showConfirm() {
    confirmText.textContent = STRINGS.clearConfirm;
    confirmBox.hidden = false;
    updateConnectionUI();
    clearNo.focus(); // the safe choice gets focus
  }

  function hideConfirm(restoreFocus) {
    confirmBox.hidden = true;
    if (restoreFocus) clearBtn.focus();
  }

  function confirmForget() {
    if (forgetPending) return;
    if (!store.sessionId) {
      resetConversation(); // nothing on the server yet: clearing the screen is enough
      return;
    }
    if (!ready) return;
    forgetPending = true;
    updateConnectionUI();
    const sessionId = store.sessionId;
    socket.emit("cjg_forget", { session_id: sessionId }, () => {
      if (store.sessionId === sessionId) resetConversation(); // even when the ack came late
    });
    forgetTimer = setTimeout(() => {
      forgetPending = false;
      confirmText.textContent = STRINGS.clearFailed;
      updateConnectionUI();
    }, FORGET_TIMEOUT_MS);
  }

  // The server may also tell us on its own (e.g. after "/wissen"); ack and event can both arrive.
  function onForgotten(info) {
    const sid = info && typeof info === "object" ? info.session_id : typeof info === "string" ? info : null;
    if (!store.sessionId || (sid && sid !== store.sessionId)) return;
    resetConversation();
  }

  function resetConversation() {
    forgetPending = false;
    clearTimeout(forgetTimer);
    store.history = [];
    store.sessionId = null;
    store.lastId = "0";
    store.unread = 0;
    saveStore();
    clearLog();
    dropOutgoing();
    hideTyping();
    onStatus({ state: "bot" });
    updateUnread();
    // Focus was on the confirm panel, which disappears now: give it to the input instead.
    const hadFocus = !confirmBox.hidden || confirmBox.contains(shadow.activeElement);
    hideConfirm(false);
    freshSession = false;
    ready = false;
    if (socket && socket.connected) requestSession(); // a fresh session; it greets when confirmed
    updateConnectionUI();
    if (isOpen && hadFocus) input.focus();
  }

  // --- quick exit ------------------------------------------------------------------------------------

  function quickExit() {
    exiting = true;
    try {
      sessionStorage.removeItem(STORE_KEY);
    } catch (_) {
      /* nothing stored */
    }
    if (socket) socket.disconnect();
    location.replace(cfg.exitUrl);
  }

  // --- Socket.IO -----------------------------------------------------------------------------------

  let ioPromise = null;

  // Loads the vendored client from next to this script (same origin, so a strict CSP allows it).
  function loadIo() {
    if (typeof window.io === "function") return Promise.resolve(window.io);
    if (!ioPromise) {
      ioPromise = new Promise((resolve, reject) => {
        const tag = document.createElement("script");
        tag.src = new URL("socket.io.min.js", scriptUrl).href;
        tag.async = true;
        tag.addEventListener("load", () =>
          typeof window.io === "function" ? resolve(window.io) : reject(new Error("io missing")),
        );
        tag.addEventListener("error", () => reject(new Error("socket.io client did not load")));
        (document.head || document.documentElement).append(tag);
      });
      ioPromise.catch(() => {
        ioPromise = null; // allow a retry the next time the panel opens
      });
    }
    return ioPromise;
  }

  let connecting = false;

  function connect() {
    if (socket || connecting) return;
    connecting = true;
    loadFailed = false;
    updateConnectionUI();
    loadIo()
      .then((io) => {
        socket = io(cfg.server, {
          path: cfg.path,
          transports: ["websocket"],
          reconnection: true,
          reconnectionDelay: 500,
          reconnectionDelayMax: 5000,
        });
        socket.on("connect", onConnect);
        socket.on("disconnect", onDisconnect);
        socket.on("connect_error", () => updateConnectionUI());
        socket.on("session_confirm", onSessionConfirm);
        socket.on("bot_uttered", onBotUttered);
        socket.on("cjg_typing", onTyping);
        socket.on("cjg_status", onStatus);
        socket.on("cjg_forgotten", onForgotten);
        socket.on("cjg_address", onAddress);
      })
      .catch(() => {
        loadFailed = true;
        updateConnectionUI();
      })
      .finally(() => {
        connecting = false;
      });
  }

  function requestSession() {
    socket.emit("session_request", { session_id: store.sessionId || null, last_id: store.lastId || "0" });
  }

  function onConnect() {
    ready = false; // until session_confirm for this connection
    updateConnectionUI();
    requestSession();
  }

  function onDisconnect(reason) {
    ready = false;
    hideTyping();
    updateConnectionUI();
    // A disconnect by the server is not retried automatically by Socket.IO.
    if (reason === "io server disconnect" && !exiting) socket.connect();
  }

  function onSessionConfirm(info) {
    const id = typeof info === "string" ? info : info && typeof info.session_id === "string" ? info.session_id : "";
    if (!id) return;
    if (id !== store.sessionId) freshSession = true; // kept until the panel is open to greet
    if (store.sessionId && id !== store.sessionId) {
      // The server started a new conversation: what we show belongs to one that is gone.
      store.history = [];
      store.lastId = "0";
      store.unread = 0;
      clearLog();
      dropOutgoing();
      hideTyping();
      onStatus({ state: "bot" });
      updateUnread();
    }
    store.sessionId = id;
    ready = true;
    everConnected = true;
    saveStore();
    updateConnectionUI();
    maybeGreet();
    clearTimeout(retryTimer); // a new connection: what waits goes now
    retryTimer = null;
    pump(); // what waited for the connection (a retry, or a message queued behind one)
  }

  function cleanButtons(list) {
    if (!Array.isArray(list)) return [];
    const out = [];
    for (const item of list) {
      if (!item || typeof item !== "object" || typeof item.payload !== "string" || !item.payload) continue;
      const title = typeof item.title === "string" && item.title ? item.title : item.payload;
      out.push({ title, payload: item.payload });
    }
    return out;
  }

  function onBotUttered(msg, ack) {
    if (typeof ack === "function") {
      try {
        ack(); // always: the server keeps the message in its outbox until then
      } catch (_) {
        /* ignore */
      }
    }
    if (!msg || typeof msg !== "object") return;
    const id = parseId(msg.id) ? msg.id : null;
    if (id && compareIds(id, store.lastId) <= 0) return; // already shown (replay after reconnect)
    if (id) store.lastId = id;
    hideTyping();

    const handoff = msg.custom && typeof msg.custom === "object" ? msg.custom.handoff : null;
    const staff =
      handoff && handoff.event === "staff_message" && typeof handoff.staff === "string" && handoff.staff
        ? handoff.staff
        : null;
    const text = typeof msg.text === "string" ? msg.text : "";
    // Rasa's socketio channel sends quick_replies; "buttons" is accepted for older servers.
    const buttons = cleanButtons(msg.quick_replies || msg.buttons);
    if (!text && !buttons.length) {
      saveStore(); // nothing to show (e.g. a custom-only message), but remember the id
      return;
    }
    const entry = { id, from: staff ? "staff" : "bot", text, at: Number.isFinite(msg.at) ? msg.at : Date.now() };
    if (staff) entry.name = staff;
    if (msg.custom && msg.custom.crisis && Array.isArray(msg.custom.crisis.contacts)) entry.crisis = true;
    // A crisis card comes at once even when its message gets no answer yet; the retry that is
    // answered brings it again: one card per message is enough.
    const head = outgoing[0];
    if (entry.crisis && head) {
      if (head.cards.has(text)) {
        saveStore();
        return;
      }
      head.cards.add(text);
    }
    if (buttons.length) entry.buttons = buttons;
    addEntry(entry);
    if (!isOpen) {
      store.unread += 1;
      updateUnread();
    }
    saveStore();
  }

  // --- events ----------------------------------------------------------------------------------------

  launcher.addEventListener("click", () => (isOpen ? closePanel() : openPanel()));
  closeBtn.addEventListener("click", () => closePanel());
  exitBtn.addEventListener("click", quickExit);
  clearBtn.addEventListener("click", () => (confirmBox.hidden ? showConfirm() : hideConfirm(true)));
  clearNo.addEventListener("click", () => hideConfirm(true));
  clearYes.addEventListener("click", confirmForget);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendTyped();
  });

  input.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter is a new line; never interrupt an IME composition.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendTyped();
    }
  });

  input.addEventListener("input", () => {
    onInputChanged();
    maybeSendUserTyping();
  });

  // Escape closes the panel; a second Escape within a second leaves the site ("Snel weg").
  let escapeAt = 0;
  document.addEventListener(
    "keydown",
    (event) => {
      if (event.key !== "Escape" || event.isComposing) return;
      const now = Date.now();
      if (escapeAt && now - escapeAt < DOUBLE_ESCAPE_MS) {
        quickExit();
        return;
      }
      escapeAt = 0;
      if (!isOpen) return;
      escapeAt = now;
      // Focus goes back to the launcher only if it was in the widget; never steal it from the page.
      closePanel(document.activeElement === host);
    },
    true,
  );

  // --- start -----------------------------------------------------------------------------------------

  for (const entry of store.history) renderEntry(entry);
  refreshButtons();
  updateUnread();
  updateConnectionUI();

  // Read-only handle for debugging and tests; nothing else is exposed.
  const handle = Object.freeze({
    get sessionId() {
      return store.sessionId;
    },
    get connected() {
      return ready;
    },
    open() {
      openPanel();
    },
    close() {
      closePanel();
    },
  });
  Object.defineProperty(window, "cjgChat", { value: handle, enumerable: true, writable: false });

  function mount() {
    document.body.append(host);
    // The remembered state wins over data-open; focus is not moved on page load.
    const startOpen = store.open === null ? cfg.open : store.open;
    if (startOpen) setOpen(true, false);
    else if (store.sessionId) connect(); // resume right away so unread messages are counted
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();
