// The fakepay dashboard: a snapshot from the control API, kept current by its event stream. It
// holds at most MAX_ROWS requests and payments, and an event draws only the rows it changes. Its
// lists of operations, rule conditions, payment statuses and columns come from the API in force.
"use strict";

const API = location.pathname.replace(/\/[^/]*$/, "");  // "/__fakepay"
const MAX_ROWS = 1000;
const CHART_SECONDS = 120;
// When the page does not hold every payment, it asks for the counts again this long after a new one.
const COUNT_AFTER_MS = 2000;
const KINDS = ["ok", "rejected", "failed", "fault"];
const COLORS = { ok: "#2e9e5b", rejected: "#e0a100", failed: "#d64545", fault: "#7b5cd6" };

const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem("fakepay-token"),
  api: null,                  // the API in force, as GET /api describes it
  paramOf: new Map(),         // operation -> the name of its path value
  idKey: null,                // the payment field that tells an owner's payments apart
  requests: new Map(),        // journal id -> entry, in the order recorded: the newest MAX_ROWS
  requestRows: new Map(),     // journal id -> its row, for the entries the filters show
  newRequests: [],            // entries not drawn yet
  payments: new Map(),        // "owner\u0000id" -> payment: the first MAX_ROWS listed, then those that change
  paymentRows: new Map(),     // "owner\u0000id" -> its row
  changedPayments: new Set(), // the keys of payments not drawn as they now are
  sections: new Map(),        // owner -> {node, count, body}: its part of the payments card
  stored: new Map(),          // owner -> how many payments fakepay holds
  holdsAll: true,             // whether state.payments holds every payment fakepay holds
  owners: new Set(),
  rules: [],
  config: null,
  clock: null,
  clockAt: 0,
  zoneOffset: 0,              // how many ms the journal's local times are ahead of UTC
  buckets: new Map(),         // whole second -> {ok, rejected, failed, fault}
  selected: null,
  stream: null,
  // The sandbox watched and steered ("": the server's own), kept in the page's address as ?sandbox=ID.
  sandbox: new URLSearchParams(location.search).get("sandbox") || "",
};

// -- talking to the control API ----------------------------------------------------------------

class Unauthorized extends Error {}

// Where the control calls of the sandbox watched are served.
const base = () => (state.sandbox ? `${API}/sandboxes/${encodeURIComponent(state.sandbox)}` : API);

// A control call of the sandbox watched (of the server's own with `own`).
async function call(method, path, body, own = false) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch((own ? API : base()) + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) throw new Unauthorized("the control token is needed");
  const data = await response.json();
  if (!response.ok) throw new Error(data.message || `${response.status}`);
  return data;
}

function say(text, isError = false) {
  const message = $("message");
  message.textContent = text;
  message.classList.toggle("error", isError);
}

function failed(error, what) {
  if (error instanceof Unauthorized) askForToken();
  else say(`${what}: ${error.message}`, true);
}

async function act(what, method, path, body) {
  try {
    const data = await call(method, path, body);
    say(what);
    return data;
  } catch (error) {
    if (error instanceof Unauthorized) askForToken();
    else say(`${what}: failed: ${error.message}`, true);
    return null;
  }
}

// -- the token ---------------------------------------------------------------------------------

function askForToken(problem = "") {
  stopStream();
  sessionStorage.removeItem("fakepay-token");
  state.token = null;
  $("main").hidden = true;
  $("token-form").hidden = false;
  $("token-error").textContent = problem;
  $("token").focus();
}

$("token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  state.token = $("token").value;
  try {
    await call("GET", "/state");
  } catch (error) {
    $("token-error").textContent = error instanceof Unauthorized ? "That token is not the one fakepay was started with." : error.message;
    return;
  }
  sessionStorage.setItem("fakepay-token", state.token);
  $("token").value = "";
  $("token-form").hidden = true;
  start();
});

// -- the event stream (fetch, so that the token goes in a header and never in a URL) ---------------

function stopStream() {
  if (state.stream) state.stream.abort();
  state.stream = null;
}

async function openStream() {
  const controller = new AbortController();
  state.stream = controller;
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  try {
    const response = await fetch(`${base()}/events`, { headers, signal: controller.signal, cache: "no-store" });
    if (response.status === 401) return askForToken();
    if (!response.ok || !response.body) throw new Error(`${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n");
        if (data) await inTurn(() => onEvent(JSON.parse(data)));
      }
    }
  } catch (error) {
    if (controller.signal.aborted) return;
  }
  if (state.stream !== controller) return;
  connected(false);
  setTimeout(() => { if (state.stream === controller) openStream(); }, 1000);
}

function connected(live) {
  const badge = $("connection");
  badge.textContent = live ? "live" : "reconnecting…";
  badge.classList.toggle("off", !live);
}

// Events apply one after another, and so does a reading of the state asked for meanwhile: those
// that come while it loads apply to it.
let applying = Promise.resolve();

function inTurn(step) {
  const turn = applying.then(step);
  applying = turn.catch(() => {});
  return turn;
}

async function onEvent(event) {
  switch (event.type) {
    case "ready": connected(true); return loadSnapshot();
    case "dropped": say(`${event.count} events were missed; reloading`); return loadSnapshot();
    case "skipped":  // a burst: the stream sent its newest requests and last payments' changes, and counts the rest
      event.outcomes.forEach((group) => countInChart(group, group.count));
      if (event.payments) readPaymentsSoon();
      return;
    case "request": addRequest(event.request); return renderSoon(drawNewRequests);
    case "payment": putPayment(event.payment); return renderSoon(drawChangedPayments);
    case "rule": state.rules = state.rules.filter((r) => r.id !== event.rule.id).concat(event.rule).sort((a, b) => a.id - b.id);
      return renderSoon(renderRules);
    case "rule_deleted": state.rules = state.rules.filter((r) => r.id !== event.id); return renderSoon(renderRules);
    case "rules": state.rules = event.rules; return renderSoon(renderRules);
    case "clock": setClock(event.clock); return renderSoon(renderConfig);
    case "config": state.config = event.config; return renderSoon(renderConfig);
    case "requests_cleared":
      for (const [id, request] of state.requests) if (event.owner === null || request.owner === event.owner) state.requests.delete(id);
      return renderSoon(renderRequests);
    case "reset": case "scenario": return loadSnapshot();
  }
}

// Under heavy traffic many events arrive at once: draw each part at most every 150 ms.
const pending = new Set();
let renderTimer = null;

function renderSoon(render) {
  pending.add(render);
  if (renderTimer === null) {
    renderTimer = setTimeout(() => {
      renderTimer = null;
      const renders = [...pending];
      pending.clear();
      renders.forEach((each) => each());
    }, 150);
  }
}

async function loadSnapshot() {
  try {
    const [snapshot, journal] = await Promise.all([call("GET", `/state?limit=${MAX_ROWS}`), call("GET", `/requests?limit=${MAX_ROWS}`)]);
    state.owners = new Set();
    useState(snapshot);
    state.requests = new Map(journal.requests.map((request) => [request.id, request]));
    journal.requests.forEach((request) => addOwner(request.owner));
    fillChart(journal.requests);
    renderAll();
  } catch (error) {
    failed(error, "cannot read the state");
  }
}

function useState(snapshot) {
  state.config = snapshot.config;
  state.rules = snapshot.rules;
  setClock(snapshot.clock);
  state.payments = new Map(snapshot.payments.map((payment) => [paymentKey(payment), payment]));
  setStored(snapshot.stores);
}

// When the stream left out payments' changes, the page reads the state again (not the journal:
// the chart has counted every request): at most every COUNT_AFTER_MS, in turn with the events.
let readTimer = null;

function readPaymentsSoon() {
  if (readTimer !== null) return;
  readTimer = setTimeout(() => inTurn(async () => {
    readTimer = null;
    try {
      useState(await call("GET", `/state?limit=${MAX_ROWS}`));
      renderState();
    } catch (error) {
      failed(error, "cannot read the state");
    }
  }), COUNT_AFTER_MS);
}

// The page holds the first MAX_ROWS payments: the counts of the rest come from fakepay, asked again
// (at most every COUNT_AFTER_MS) when payments it may not know of arrive.
let countTimer = null;

function countSoon() {
  if (countTimer !== null) return;
  countTimer = setTimeout(async () => {
    countTimer = null;
    try {
      setStored((await call("GET", "/state?limit=0")).stores);
      renderSoon(renderPaymentCounts);
    } catch (error) {
      failed(error, "cannot count the payments");
    }
  }, COUNT_AFTER_MS);
}

// -- the model ---------------------------------------------------------------------------------

function outcomeKind(request) {
  if (request.outcome === "ok" || request.outcome === "failed") return request.outcome;
  if (request.outcome === "rejected") return "rejected";
  if (request.outcome === "error") return "failed";
  return "fault";
}

function addRequest(request) {
  if (state.requests.has(request.id)) return;  // its event came after the snapshot that has it
  state.requests.set(request.id, request);
  state.newRequests.push(request);
  countInChart(request);
  addOwner(request.owner);
  if (state.requests.size > MAX_ROWS) {
    const [oldest] = state.requests.keys();
    state.requests.delete(oldest);
    state.requestRows.get(oldest)?.remove();
    state.requestRows.delete(oldest);
  }
}

const paymentKey = (payment) => `${payment.owner}\u0000${payment[state.idKey]}`;

function putPayment(payment) {
  const key = paymentKey(payment);
  if (!state.payments.has(key)) {
    if (state.holdsAll) state.stored.set(payment.owner, (state.stored.get(payment.owner) || 0) + 1);
    else countSoon();
    if (state.payments.size >= MAX_ROWS) dropOldestPayment();
  }
  state.payments.set(key, payment);
  state.changedPayments.add(key);
  addOwner(payment.owner);
}

function dropOldestPayment() {
  const [oldest] = state.payments.keys();
  state.payments.delete(oldest);
  state.changedPayments.delete(oldest);
  state.paymentRows.get(oldest)?.remove();
  state.paymentRows.delete(oldest);
  state.holdsAll = false;
}

function setStored(stores) {
  state.stored = new Map(stores.map((store) => [store.githubId, store.payments]));
  state.holdsAll = sum(state.stored.values()) <= state.payments.size;
  stores.forEach((store) => addOwner(store.githubId));
}

const sum = (numbers) => [...numbers].reduce((total, n) => total + n, 0);

function addOwner(owner) {
  if (!owner || state.owners.has(owner)) return;
  state.owners.add(owner);
  renderSoon(renderOwners);
}

function setClock(clock) {
  state.clock = clock;
  state.clockAt = Date.now();
  state.zoneOffset = zoneOffset(clock.timezone);
}

// A LocalDateTime ("2025-10-22T20:21:35.5294") in milliseconds, read as if it were UTC; an instant
// written with its offset ("2025-10-22T11:21:35.529Z", as an API may write times) as the clock's
// zone shows it, read the same way.
function localMs(text) {
  if (/(Z|[+-]\d{2}:\d{2})$/i.test(text)) return Date.parse(text) + state.zoneOffset;
  const [date, time] = text.split("T");
  const [year, month, day] = date.split("-").map(Number);
  const [hours, minutes, seconds] = time.split(":").map(Number);
  return Date.UTC(year, month - 1, day, hours, minutes) + seconds * 1000;
}

// How many ms the wall clock of timeZone is now ahead of UTC.
function zoneOffset(timeZone) {
  const now = Date.now();
  try {
    const options = { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" };
    const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", options).formatToParts(now).map(({ type, value }) => [type, Number(value)]));
    return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) - (now - (now % 1000));
  } catch (error) {  // a zone this browser does not know: its own
    return -new Date(now).getTimezoneOffset() * 60000;
  }
}

// The second a request arrived (its time is written in the clock's zone).
const arrivedSecond = (request) => Math.floor((localMs(request.time) - state.zoneOffset) / 1000);

// A request, or as many as count of the same second and outcome, in the chart.
function countInChart(request, count = 1) {
  const second = arrivedSecond(request);
  const bucket = state.buckets.get(second) || { ok: 0, rejected: 0, failed: 0, fault: 0 };
  bucket[outcomeKind(request)] += count;
  state.buckets.set(second, bucket);
}

// Count again, from the journal's newest entries, the seconds they cover: the whole chart when the
// journal sent fewer than asked (it holds no more), else from its oldest entry sent.
function fillChart(requests) {
  const from = requests.length < MAX_ROWS ? -Infinity : Math.min(...requests.map(arrivedSecond));
  for (const second of [...state.buckets.keys()]) if (second >= from) state.buckets.delete(second);
  requests.forEach((request) => countInChart(request));
}

// -- drawing -----------------------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child === null || child === undefined ? "" : child);
  return node;
}

function renderAll() {
  renderState();
  renderRequests();
  drawChart();
}

function renderState() {
  renderConfig();
  renderRules();
  renderPayments();
  renderOwners();
}

function clockNow() {
  const clock = state.clock;
  if (!clock || clock.frozen) return clock ? clock.now : "";
  return new Date(localMs(clock.now) + Date.now() - state.clockAt).toISOString().slice(0, 23);
}

function renderConfig() {
  const config = state.config;
  if (!config) return;
  $("scenario-name").textContent = `scenario: ${config.name}`;
  const latency = config.latency.fixed_ms || config.latency.jitter_ms
    ? `${config.latency.fixed_ms} ms + up to ${config.latency.jitter_ms} ms` : "none";
  const rows = [
    ["scenario", config.name],
    ["seed", String(config.seed)],
    ["failure rate", `${config.failure.rate} (answers ${config.failure.status})`],
    ["latency", latency],
    ["clock", `${clockNow()} ${state.clock ? (state.clock.frozen ? "frozen" : "running") : ""}`],
    ["time zone", state.clock ? state.clock.timezone : ""],
    ...Object.entries(config).filter(([key]) => !SHARED_SETTINGS.includes(key)).map(([key, value]) => [key, settingText(value)]),
    ["journal keeps", `${config.journal.max_entries} requests`],
  ];
  $("config").replaceChildren(...rows.flatMap(([key, value]) => [el("dt", {}, key), el("dd", {}, value)]));
  $("clock-now").textContent = `${clockNow()} (${state.clock && state.clock.frozen ? "frozen" : "running"})`;
  const rate = $("failure-rate");
  if (document.activeElement !== rate) rate.value = config.failure.rate;
}

// The settings every API has; the config's others are the API's own (CEOS's auth, PortOne's secrets).
const SHARED_SETTINGS = ["name", "seed", "clock", "failure", "latency", "journal"];

// An API's own setting as short text: a list's items, a group's key=value pairs.
function settingText(value) {
  if (Array.isArray(value)) return value.length ? value.map(settingText).join(", ") : "—";
  if (value !== null && typeof value === "object") {
    return Object.entries(value).map(([key, item]) => `${key}=${settingText(item)}`).join(", ");
  }
  return String(value);
}

function describeThen(then) {
  if (typeof then === "string") return then;
  if ("delay_ms" in then) return `delay ${then.delay_ms} ms`;
  if ("timeout_s" in then) return `timeout ${then.timeout_s} s`;
  return `status ${then.status}`;
}

function renderRules() {
  const items = state.rules.filter((rule) => rule.remaining !== 0).map((rule) => {  // a used-up rule does nothing more
    const when = Object.entries(rule.when).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ") || "any request";
    const left = rule.remaining === null ? "no limit" : `${rule.remaining} left`;
    return el("li", {},
      el("span", {}, `#${rule.id} `, el("strong", {}, describeThen(rule.then)), ` when ${when} · ${left}`),
      el("button", { type: "button", class: "small", "aria-label": `Delete rule ${rule.id}`,
        onclick: () => act(`rule ${rule.id} deleted`, "DELETE", `/rules/${rule.id}`) }, "Delete"));
  });
  $("rules").replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, "no rules")]));
}

function statusClass(status) {
  if (status === null) return "s-none";
  return `s-${String(status)[0]}xx`;
}

function matches(request) {
  const owner = $("filter-owner").value.trim();
  const operation = $("filter-operation").value;
  const status = $("filter-status").value;
  if (owner && request.owner !== owner) return false;
  if (operation && request.operation !== operation) return false;
  if (status === "none") return request.status === null;
  return !status || (request.status !== null && String(request.status)[0] === status);
}

// All the requests the filters show, newest first (after a snapshot, or when the filters change).
function renderRequests() {
  state.newRequests = [];
  state.requestRows = new Map();
  $("requests").replaceChildren(...[...state.requests.values()].filter(matches).reverse().map(requestRow));
  renderRequestCount();
}

// The requests that came since the last drawing, on top.
function drawNewRequests() {
  const rows = state.newRequests.filter((request) => state.requests.has(request.id) && matches(request)).map(requestRow);
  state.newRequests = [];
  $("requests").prepend(...rows.reverse());
  renderRequestCount();
}

function renderRequestCount() {
  $("requests-count").textContent = `(${state.requestRows.size} of ${state.requests.size})`;
}

function requestRow(request) {
  const show = () => showDetail(request);
  const value = request.params[state.paramOf.get(request.operation)] || "";
  const row = el("tr", { class: request.id === state.selected ? "selected" : "", onclick: show },
    el("td", {}, el("button", { type: "button", class: "link", "aria-label": `Show request ${request.id}`, onclick: (e) => { e.stopPropagation(); show(); } }, String(request.id))),
    el("td", { class: "time" }, request.time.slice(11, 23)),
    el("td", {}, request.operation || request.method),
    el("td", {}, request.owner || ""),
    el("td", { class: "id" }, value),
    el("td", {}, el("span", { class: `status ${statusClass(request.status)}` }, request.status === null ? "—" : String(request.status))),
    el("td", {}, el("span", { class: `outcome o-${outcomeKind(request)}` }, request.outcome)),
    el("td", {}, request.rule === null ? "" : `#${request.rule}`),
    el("td", { class: "num" }, request.duration_ms.toFixed(1)));
  state.requestRows.set(request.id, row);
  return row;
}

function select(id) {
  state.requestRows.get(state.selected)?.classList.remove("selected");
  state.selected = id;
  state.requestRows.get(id)?.classList.add("selected");
}

function showDetail(request) {
  select(request.id);
  const json = (value, none) => el("pre", { class: value === null ? "none" : "" },
    value === null ? none : typeof value === "string" ? value : JSON.stringify(value, null, 2));
  const detail = $("detail");
  detail.replaceChildren(
    el("div", { class: "detail-head" },
      el("h3", {}, `Request ${request.id}: ${request.method} ${request.path}`),
      el("button", { type: "button", class: "small", onclick: () => { select(null); detail.hidden = true; } }, "Close details")),
    el("p", {}, `${request.time} · ${request.status === null ? "closed unanswered" : `answered ${request.status}`} · ${request.outcome}`
      + `${request.rule === null ? "" : ` (rule #${request.rule})`} · ${request.duration_ms} ms`),
    el("p", {}, "Authorization: ", el("code", {}, request.authorization || "none")),
    ...(request.warnings.length ? [el("ul", { class: "warnings" }, ...request.warnings.map((w) => el("li", {}, w)))] : []),
    el("div", { class: "pair" },
      el("section", {}, el("h4", {}, "Request body"), json(request.body, "(none)")),
      el("section", {}, el("h4", {}, "Answer"), json(request.response, request.status === null ? "(closed without an answer)" : "(empty)"))));
  detail.hidden = false;
  detail.focus();
}

// Every payment held, owner by owner (after a snapshot).
function renderPayments() {
  state.sections = new Map();
  state.paymentRows = new Map();
  state.changedPayments.clear();
  $("payments").replaceChildren(el("p", { class: "empty" }, "No payments yet."));
  const owners = [...new Set([...state.payments.values()].map((payment) => payment.owner))].sort();
  owners.forEach(ownerSection);
  for (const [key, payment] of state.payments) state.sections.get(payment.owner).body.append(paymentRow(key, payment));
  renderPaymentCounts();
}

// The payments that changed since the last drawing, each in its own row.
function drawChangedPayments() {
  for (const key of state.changedPayments) {
    const payment = state.payments.get(key);
    const old = state.paymentRows.get(key);
    const row = paymentRow(key, payment);
    if (old) old.replaceWith(row);
    else ownerSection(payment.owner).body.append(row);
  }
  state.changedPayments.clear();
  renderPaymentCounts();
}

// A payment's cell of a column, drawn by the column's kind.
function paymentCell(column, p) {
  const value = p[column.key];
  switch (column.kind) {
    case "id": return el("td", { class: "id" }, value);
    case "status": return el("td", {}, el("span", { class: `pay ${value.toLowerCase()}` }, value));
    case "amount": return el("td", { class: "num" }, `${value.toLocaleString()}${column.unit ? ` ${p[column.unit]}` : ""}`);
    case "count": return el("td", { class: "num" }, String(value));
    case "time": return el("td", { class: "time" }, value || "");
    default: return el("td", {}, value);
  }
}

function paymentRow(key, p) {
  const row = el("tr", {}, ...state.api.payments.columns.map((column) => paymentCell(column, p)));
  state.paymentRows.set(key, row);
  return row;
}

// The owner's part of the payments card, made (in the owners' order) if it is not there yet.
function ownerSection(owner) {
  let section = state.sections.get(owner);
  if (section) return section;
  const count = el("small");
  const body = el("tbody");
  const node = el("section", { class: "owner", "aria-label": `Payments of ${owner}` },
    el("h3", {}, owner, count),
    el("table", {},
      el("thead", {}, el("tr", {}, ...state.api.payments.columns.map((column) => el("th", { scope: "col" }, column.title)))),
      body));
  const next = [...state.sections.keys()].filter((other) => other > owner).sort()[0];
  if (next === undefined && !state.sections.size) $("payments").replaceChildren(node);
  else if (next === undefined) $("payments").append(node);
  else state.sections.get(next).node.before(node);
  section = { node, count, body };
  state.sections.set(owner, section);
  return section;
}

function renderPaymentCounts() {
  const held = state.payments.size;
  const total = Math.max(sum(state.stored.values()), held);
  const number = (n) => n.toLocaleString("en-US");
  $("payments-count").textContent = state.holdsAll ? `(${number(total)})` : `(${number(held)} of ${number(total)})`;
  for (const [owner, section] of state.sections) {
    const shown = section.body.rows.length;
    const stored = Math.max(state.stored.get(owner) || 0, shown);
    section.count.textContent = ` ${number(stored)} payment${stored === 1 ? "" : "s"}${shown < stored ? `, ${number(shown)} shown` : ""}`;
  }
}

function renderOwners() {
  $("owners").replaceChildren(...[...state.owners].sort().map((owner) => el("option", { value: owner })));
}

function drawChart() {
  const canvas = $("chart");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== width * ratio) { canvas.width = width * ratio; canvas.height = height * ratio; }
  const context = canvas.getContext("2d");
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const now = Math.floor(Date.now() / 1000);
  for (const second of state.buckets.keys()) if (second <= now - CHART_SECONDS) state.buckets.delete(second);
  let peak = 1;
  const totals = { ok: 0, rejected: 0, failed: 0, fault: 0 };
  for (const bucket of state.buckets.values()) {
    peak = Math.max(peak, sum(KINDS.map((kind) => bucket[kind])));
    KINDS.forEach((kind) => { totals[kind] += bucket[kind]; });
  }
  canvas.setAttribute("aria-label", `Requests per second by outcome, last ${CHART_SECONDS / 60} minutes: ${KINDS.map((kind) => `${totals[kind]} ${kind}`).join(", ")}`);
  const top = niceCeiling(peak);
  const left = 34;
  const plot = height - 18;
  context.font = "11px system-ui, sans-serif";
  context.fillStyle = "#6b7280";
  context.strokeStyle = "#e5e7eb";
  for (const fraction of [0, 0.5, 1]) {
    const y = Math.round(plot - fraction * (plot - 6)) + 0.5;
    context.beginPath(); context.moveTo(left, y); context.lineTo(width, y); context.stroke();
    context.fillText(String(Math.round(top * fraction)), 2, y + 4);
  }
  const bar = (width - left) / CHART_SECONDS;
  for (let i = 0; i < CHART_SECONDS; i += 1) {
    const bucket = state.buckets.get(now - CHART_SECONDS + 1 + i);
    if (!bucket) continue;
    let y = plot;
    for (const kind of KINDS) {
      const h = (bucket[kind] / top) * (plot - 6);
      if (!h) continue;
      context.fillStyle = COLORS[kind];
      context.fillRect(left + i * bar, y - h, Math.max(bar - 0.5, 1), h);
      y -= h;
    }
  }
  context.fillStyle = "#6b7280";
  context.fillText(`−${CHART_SECONDS / 60} min`, left, height - 4);
  context.fillText("now", width - 24, height - 4);
}

function niceCeiling(value) {
  const step = 10 ** Math.floor(Math.log10(value));
  for (const multiple of [1, 2, 5, 10]) if (value <= multiple * step) return multiple * step;
  return 10 * step;
}

// -- controls ----------------------------------------------------------------------------------

function number(id) {
  return Number($(id).value);
}

$("set-failure-rate").addEventListener("click", () => act("failure rate set", "PATCH", "/config", { failure: { rate: number("failure-rate") } }));

document.querySelectorAll("[data-then]").forEach((button) => button.addEventListener("click", () => {
  const kind = button.dataset.then;
  const then = kind === "delay" ? { delay_ms: number("next-delay") } : kind;
  const when = { operation: $("next-operation").value };
  const owner = $("next-owner").value.trim();
  if (owner) when.owner = owner;
  for (const matcher of state.api.matchers) {
    const value = conditionValue(matcher);
    if (value !== null) when[matcher.key] = value;
  }
  act(`${button.textContent}: rule added`, "POST", "/rules", { when, then, times: number("next-count") });
}));

document.querySelectorAll("[data-webhook]").forEach((button) => button.addEventListener("click", () => {
  const when = { operation: "webhook" };
  const owner = $("next-owner").value.trim();
  if (owner) when.owner = owner;
  act(`${button.textContent}: rule added`, "POST", "/rules", { when, then: button.dataset.webhook, times: number("next-count") });
}));

// What a rule asks of a matcher's field, as its inputs under "More conditions" say (null: nothing).
function conditionValue(matcher) {
  const field = (suffix = "") => $(`condition-${matcher.key}${suffix}`).value.trim();
  if (matcher.kind !== "amount") return field() || null;
  const bounds = {};
  if (field("-gte")) bounds.gte = Number(field("-gte"));
  if (field("-lte")) bounds.lte = Number(field("-lte"));
  return Object.keys(bounds).length ? bounds : null;
}

$("clear-rules").addEventListener("click", () => act("rules deleted", "DELETE", "/rules"));
$("freeze-clock").addEventListener("click", () => act("clock frozen", "POST", "/clock", { freeze: true }));
$("advance-clock").addEventListener("click", () => act("clock advanced", "POST", "/clock", { advance_ms: number("advance-ms") }));
$("resume-clock").addEventListener("click", () => act("clock resumed", "POST", "/clock", { resume: true }));

$("seed-payment").addEventListener("click", () => {
  const paymentId = $("seed-id").value.trim() || `seed-${Date.now()}`;
  act(`payment ${paymentId} seeded`, "POST", "/payments", {
    owner: $("seed-owner").value.trim(), paymentId, storeId: $("seed-store").value.trim(),
    orderName: $("seed-order").value, totalPayAmount: number("seed-amount"),
    currency: $("seed-currency").value, status: $("seed-status").value,
  });
});

$("reset-all").addEventListener("click", () => act("reset", "POST", "/reset"));
$("reset-owner").addEventListener("click", () => {
  const owner = $("reset-owner-name").value.trim();
  if (!owner) return say("Reset owner: give an owner", true);
  return act(`${owner} reset`, "POST", `/reset?owner=${encodeURIComponent(owner)}`);
});
$("load-scenario").addEventListener("click", () => {
  const name = $("scenario-choice").value;
  return act(`scenario ${name} loaded`, "POST", `/scenarios/${encodeURIComponent(name)}`);
});

$("clear-journal").addEventListener("click", () => act("journal cleared", "DELETE", "/requests"));
$("download-journal").addEventListener("click", async () => {
  const journal = await act("journal downloaded", "GET", "/requests");
  if (!journal) return;
  const lines = journal.requests.map((entry) => JSON.stringify(entry)).join("\n");
  const link = el("a", { href: URL.createObjectURL(new Blob([lines + (lines ? "\n" : "")], { type: "application/x-ndjson" })), download: "fakepay-journal.jsonl" });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
});

for (const id of ["filter-owner", "filter-operation", "filter-status"]) $(id).addEventListener("input", renderRequests);

async function loadScenarioChoices() {
  try {
    const data = await call("GET", "/scenarios");
    $("scenario-choice").replaceChildren(...data.scenarios.map((name) => el("option", {}, name)));
  } catch (error) {
    say(`cannot list the shipped scenarios: ${error.message}`, true);
  }
}

// -- the API in force ----------------------------------------------------------------------------

const option = (value, text = value) => el("option", { value }, text);

// The inputs of a matcher's condition: a pattern or a value, one of its choices, or an amount's bounds.
function conditionInputs(matcher) {
  const id = `condition-${matcher.key}`;
  if (matcher.kind === "choice") return [el("label", {}, matcher.key, el("select", { id }, option("", "any"), ...matcher.choices.map((c) => option(c))))];
  if (matcher.kind === "amount") {
    return [["gte", "at least"], ["lte", "at most"]].map(([bound, words]) =>
      el("label", {}, `${matcher.key} ${words}`, el("input", { id: `${id}-${bound}`, type: "number", min: "0", placeholder: "any" })));
  }
  const placeholder = matcher.kind === "glob" ? "any (* and ? match)" : "any";
  return [el("label", {}, matcher.key, el("input", { id, type: "text", placeholder }))];
}

function useApi(api) {
  state.api = api;
  state.paramOf = new Map(api.operations.map((operation) => [operation.name, operation.param]));
  state.idKey = api.payments.columns.find((column) => column.kind === "id").key;
  const names = api.operations.map((operation) => operation.name);
  $("filter-operation").replaceChildren(option("", "all"), ...names.map((name) => option(name)));
  $("next-operation").replaceChildren(...names.map((name) => option(name)));
  $("next-operation").value = (api.operations.find((operation) => operation.changes) || api.operations[0]).name;
  $("next-conditions").replaceChildren(...api.matchers.flatMap(conditionInputs));
  $("seed-status").replaceChildren(...api.payments.statuses.map((status) => option(status)));
  $("webhook-buttons").hidden = !api.webhooks;
}

async function loadApi() {
  try {
    useApi(await call("GET", "/api"));
    return true;
  } catch (error) {
    failed(error, "cannot read the API in force");
    return false;
  }
}

// -- the sandbox watched --------------------------------------------------------------------------

async function loadSandboxChoices() {
  try {
    const data = await call("GET", "/sandboxes", undefined, true);
    const ids = data.sandboxes.map((sandbox) => sandbox.id);
    if (state.sandbox && !ids.includes(state.sandbox)) ids.unshift(state.sandbox);  // gone: shown until left
    $("sandbox-choice").replaceChildren(option("", "the server's own"), ...ids.map((id) => option(id)));
    $("sandbox-choice").value = state.sandbox;
  } catch (error) {
    failed(error, "cannot list the sandboxes");
  }
}

// Watch another sandbox: everything the page holds is dropped and read again from it.
function watch(sandbox) {
  stopStream();
  state.sandbox = sandbox;
  const url = new URL(location.href);
  if (sandbox) url.searchParams.set("sandbox", sandbox);
  else url.searchParams.delete("sandbox");
  history.replaceState(null, "", url);
  for (const key of ["requests", "requestRows", "payments", "paymentRows", "sections", "stored", "buckets"]) state[key] = new Map();
  state.changedPayments = new Set();
  state.owners = new Set();
  state.newRequests = [];
  state.selected = null;
  $("detail").hidden = true;
  renderAll();
  openStream();
}

$("sandbox-choice").addEventListener("focus", loadSandboxChoices);
$("sandbox-choice").addEventListener("change", (event) => watch(event.target.value));

// -- start -------------------------------------------------------------------------------------

async function start() {
  $("main").hidden = false;
  loadScenarioChoices();
  loadSandboxChoices();
  if (state.api || await loadApi()) openStream();
}

setInterval(() => { if (!$("main").hidden) { drawChart(); if (state.clock && !state.clock.frozen) renderConfig(); } }, 1000);

// The server marks the page when it has a control token.
if (document.body.dataset.token === "required" && !state.token) askForToken();
else start();
