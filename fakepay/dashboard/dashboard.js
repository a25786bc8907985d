// The fakepay dashboard: a snapshot from the control API, kept current by its event stream.
"use strict";

const API = location.pathname.replace(/\/[^/]*$/, "");  // "/__fakepay"
const MAX_ROWS = 1000;
const CHART_SECONDS = 120;
const KINDS = ["ok", "rejected", "failed", "fault"];
const COLORS = { ok: "#2e9e5b", rejected: "#e0a100", failed: "#d64545", fault: "#7b5cd6" };

const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem("fakepay-token"),
  requests: [],               // newest last
  payments: new Map(),        // "owner\u0000id" -> payment
  rules: [],
  config: null,
  clock: null,
  clockAt: 0,
  buckets: new Map(),         // whole second -> {ok, rejected, failed, fault}
  selected: null,
  stream: null,
};

// -- talking to the control API ----------------------------------------------------------------

class Unauthorized extends Error {}

async function call(method, path, body) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
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
    const response = await fetch(`${API}/events`, { headers, signal: controller.signal, cache: "no-store" });
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
        if (data) await onEvent(JSON.parse(data));
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

async function onEvent(event) {
  switch (event.type) {
    case "ready": connected(true); return loadSnapshot();
    case "dropped": say(`${event.count} events were missed; reloading`); return loadSnapshot();
    case "request": addRequest(event.request, true); return renderSoon(renderRequests);
    case "payment": putPayment(event.payment); return renderSoon(renderPayments);
    case "rule": state.rules = state.rules.filter((r) => r.id !== event.rule.id).concat(event.rule).sort((a, b) => a.id - b.id);
      return renderSoon(renderRules);
    case "rule_deleted": state.rules = state.rules.filter((r) => r.id !== event.id); return renderSoon(renderRules);
    case "rules": state.rules = event.rules; return renderSoon(renderRules);
    case "clock": setClock(event.clock); return renderSoon(renderConfig);
    case "config": state.config = event.config; return renderSoon(renderConfig);
    case "requests_cleared":
      state.requests = event.owner === null ? [] : state.requests.filter((r) => r.owner !== event.owner);
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
    const [snapshot, journal] = await Promise.all([call("GET", "/state"), call("GET", `/requests?limit=${MAX_ROWS}`)]);
    state.config = snapshot.config;
    state.rules = snapshot.rules;
    setClock(snapshot.clock);
    state.payments = new Map();
    snapshot.payments.forEach(putPayment);
    const known = new Set(journal.requests.map((r) => r.id));
    state.requests = [...journal.requests, ...state.requests.filter((r) => !known.has(r.id) && r.id > lastId(journal.requests))];
    renderAll();
  } catch (error) {
    if (error instanceof Unauthorized) askForToken();
    else say(`cannot read the state: ${error.message}`, true);
  }
}

const lastId = (requests) => (requests.length ? requests[requests.length - 1].id : 0);

// -- the model ---------------------------------------------------------------------------------

function outcomeKind(request) {
  if (request.outcome === "ok" || request.outcome === "failed") return request.outcome;
  if (request.outcome === "rejected") return "rejected";
  if (request.outcome === "error") return "failed";
  return "fault";
}

function addRequest(request, live) {
  state.requests.push(request);
  if (state.requests.length > MAX_ROWS) state.requests.splice(0, state.requests.length - MAX_ROWS);
  if (live) {
    const second = Math.floor(Date.now() / 1000);
    const bucket = state.buckets.get(second) || { ok: 0, rejected: 0, failed: 0, fault: 0 };
    bucket[outcomeKind(request)] += 1;
    state.buckets.set(second, bucket);
  }
}

function putPayment(payment) {
  state.payments.set(`${payment.owner}\u0000${payment.paymentId}`, payment);
}

function setClock(clock) {
  state.clock = clock;
  state.clockAt = Date.now();
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
  renderConfig();
  renderRules();
  renderRequests();
  renderPayments();
}

function clockNow() {
  const clock = state.clock;
  if (!clock || clock.frozen) return clock ? clock.now : "";
  const [date, time] = clock.now.split("T");
  const [h, m, s] = time.split(":");
  const base = Date.UTC(...date.split("-").map((n, i) => Number(n) - (i === 1 ? 1 : 0)), Number(h), Number(m), 0) + Number(s) * 1000;
  return new Date(base + Date.now() - state.clockAt).toISOString().slice(0, 23);
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
    ["auth", config.auth.mode],
    ["journal keeps", `${config.journal.max_entries} requests`],
  ];
  $("config").replaceChildren(...rows.flatMap(([key, value]) => [el("dt", {}, key), el("dd", {}, value)]));
  $("clock-now").textContent = `${clockNow()} (${state.clock && state.clock.frozen ? "frozen" : "running"})`;
  const rate = $("failure-rate");
  if (document.activeElement !== rate) rate.value = config.failure.rate;
}

function describeThen(then) {
  if (typeof then === "string") return then;
  if ("delay_ms" in then) return `delay ${then.delay_ms} ms`;
  if ("timeout_s" in then) return `timeout ${then.timeout_s} s`;
  return `status ${then.status}`;
}

function renderRules() {
  const items = state.rules.map((rule) => {
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

function renderRequests() {
  const shown = state.requests.filter(matches).reverse();
  $("requests-count").textContent = `(${shown.length} of ${state.requests.length})`;
  const rows = shown.map((request) => {
    const show = () => showDetail(request);
    const payment = request.params.paymentId || request.params.githubId || "";
    return el("tr", { class: request.id === state.selected ? "selected" : "", onclick: show },
      el("td", {}, el("button", { type: "button", class: "link", "aria-label": `Show request ${request.id}`, onclick: (e) => { e.stopPropagation(); show(); } }, String(request.id))),
      el("td", { class: "time" }, request.time.slice(11, 23)),
      el("td", {}, request.operation || request.method),
      el("td", {}, request.owner || ""),
      el("td", { class: "id" }, payment),
      el("td", {}, el("span", { class: `status ${statusClass(request.status)}` }, request.status === null ? "—" : String(request.status))),
      el("td", {}, el("span", { class: `outcome o-${outcomeKind(request)}` }, request.outcome)),
      el("td", {}, request.rule === null ? "" : `#${request.rule}`),
      el("td", { class: "num" }, request.duration_ms.toFixed(1)));
  });
  $("requests").replaceChildren(...rows);
  renderOwners();
}

function showDetail(request) {
  state.selected = request.id;
  const json = (value, none) => el("pre", { class: value === null ? "none" : "" },
    value === null ? none : typeof value === "string" ? value : JSON.stringify(value, null, 2));
  const detail = $("detail");
  detail.replaceChildren(
    el("div", { class: "detail-head" },
      el("h3", {}, `Request ${request.id}: ${request.method} ${request.path}`),
      el("button", { type: "button", class: "small", onclick: () => { state.selected = null; detail.hidden = true; renderRequests(); } }, "Close details")),
    el("p", {}, `${request.time} · ${request.status === null ? "closed unanswered" : `answered ${request.status}`} · ${request.outcome}`
      + `${request.rule === null ? "" : ` (rule #${request.rule})`} · ${request.duration_ms} ms`),
    el("p", {}, "Authorization: ", el("code", {}, request.authorization || "none")),
    ...(request.warnings.length ? [el("ul", { class: "warnings" }, ...request.warnings.map((w) => el("li", {}, w)))] : []),
    el("div", { class: "pair" },
      el("section", {}, el("h4", {}, "Request body"), json(request.body, "(none)")),
      el("section", {}, el("h4", {}, "Answer"), json(request.response, request.status === null ? "(closed without an answer)" : "(empty)"))));
  detail.hidden = false;
  renderRequests();
  detail.focus();
}

function renderPayments() {
  const owners = new Map();
  for (const payment of state.payments.values()) {
    if (!owners.has(payment.owner)) owners.set(payment.owner, []);
    owners.get(payment.owner).push(payment);
  }
  $("payments-count").textContent = `(${state.payments.size})`;
  const sections = [...owners.keys()].sort().map((owner) => {
    const rows = owners.get(owner).map((p) => el("tr", {},
      el("td", { class: "id" }, p.paymentId),
      el("td", {}, el("span", { class: `pay ${p.status.toLowerCase()}` }, p.status)),
      el("td", { class: "num" }, `${p.totalPayAmount.toLocaleString()} ${p.currency}`),
      el("td", {}, p.orderName),
      el("td", { class: "num" }, String(p.attempts)),
      el("td", { class: "time" }, p.paidAt || "")));
    return el("section", { class: "owner", "aria-label": `Payments of ${owner}` },
      el("h3", {}, owner, el("small", {}, ` ${rows.length} payment${rows.length === 1 ? "" : "s"}`)),
      el("table", {},
        el("thead", {}, el("tr", {}, ...["payment id", "status", "amount", "order name", "attempts", "paidAt"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, ...rows)));
  });
  $("payments").replaceChildren(...(sections.length ? sections : [el("p", { class: "empty" }, "No payments yet.")]));
  renderOwners();
}

function renderOwners() {
  const owners = new Set([...state.payments.values()].map((p) => p.owner));
  state.requests.forEach((r) => r.owner && owners.add(r.owner));
  $("owners").replaceChildren(...[...owners].sort().map((owner) => el("option", { value: owner })));
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
  for (const bucket of state.buckets.values()) peak = Math.max(peak, KINDS.reduce((sum, kind) => sum + bucket[kind], 0));
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
  const when = { operation: "instant" };
  const owner = $("next-owner").value.trim();
  if (owner) when.owner = owner;
  act(`${button.textContent}: rule added`, "POST", "/rules", { when, then, times: number("next-count") });
}));

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

// -- start -------------------------------------------------------------------------------------

function start() {
  $("main").hidden = false;
  loadScenarioChoices();
  openStream();
}

setInterval(() => { if (!$("main").hidden) { drawChart(); if (state.clock && !state.clock.frozen) renderConfig(); } }, 1000);

// The server marks the page when it has a control token.
if (document.body.dataset.token === "required" && !state.token) askForToken();
else start();
