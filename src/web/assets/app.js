// The live board. One EventSource on /api/events brings the whole page
// document on every change; the page is rebuilt from it. Every text that
// came from the store goes into the DOM through text nodes (el() below):
// never innerHTML, so an agent's "<img onerror=...>" is only text.
"use strict";

// The action token rides in the URL fragment (never sent to the server);
// keep it for this tab and take it out of the address bar.
const token = (() => {
  const m = /(?:^#|&)token=([0-9a-f]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem("orchestrate-token", m[1]);
    history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem("orchestrate-token");
})();

let view = null;
let selectedTask = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    // Through the CSSOM: the Content-Security-Policy forbids style attributes.
    else if (k === "style") Object.assign(node.style, v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function fill(id, ...children) {
  const node = document.getElementById(id);
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

function bar(percent) {
  const p = Math.max(0, Math.min(100, Number(percent) || 0));
  return el("span", { class: "bar", title: p + "%" }, el("span", { style: { width: p + "%" } }));
}

function ago(then) {
  if (!then || !view) return "";
  const s = Math.max(0, (Date.parse(view.generated_at) - Date.parse(then)) / 1000);
  if (s < 60) return Math.round(s) + "s";
  if (s < 3600) return Math.round(s / 60) + "m";
  if (s < 86400) return Math.round(s / 3600) + "h";
  return Math.round(s / 86400) + "d";
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Number(seconds);
  if (s < 60) return s + "s";
  if (s < 3600) return Math.floor(s / 60) + "m" + (s % 60) + "s";
  return Math.floor(s / 3600) + "h" + Math.floor((s % 3600) / 60) + "m";
}

function chip(text, cls) {
  return el("span", { class: "chip " + (cls || "") }, text);
}

// Any value the page has no special place for, shown plainly.
function plain(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(plain).join(", ");
  if (typeof value === "object") return Object.entries(value).map(([k, v]) => k + ": " + plain(v)).join("; ");
  return String(value);
}

function notice(text, bad) {
  const n = fill("notice", text);
  n.className = "notice" + (bad ? " bad" : "");
}

async function act(action, body) {
  try {
    const res = await fetch("/api/actions/" + action, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + (token || "") },
      body: JSON.stringify(body || {}),
    });
    const reply = await res.json().catch(() => ({}));
    if (res.ok) notice(action + ": done");
    else notice(action + ": " + ((reply.error && reply.error.message) || res.status), true);
    return res.ok;
  } catch (e) {
    notice(action + ": " + e, true);
    return false;
  }
}

function actionButton(name, label, body) {
  if (!(view.actions || {}).enabled) return null;
  return el("button", {
    class: "act",
    dataset: { action: name },
    onclick: (e) => { e.stopPropagation(); act(name, body); },
  }, label);
}

// ---------------------------------------------------------------- header

function renderSummary() {
  const b = view.board || {};
  const t = b.tasks || {};
  fill("summary",
    el("span", {}, (t.total ?? 0) + " tasks"),
    bar(b.done_percent),
    el("span", {}, (b.done_percent ?? 0) + "% done"));
  fill("when", "view of " + new Date(view.generated_at).toLocaleTimeString());
}

function renderPinned() {
  const pinned = (view.messages || []).filter((m) => m.pinned);
  const box = fill("pinned", pinned.length ? el("h2", {}, "Needs attention") : null,
    pinned.map((m) => el("div", { class: "pin " + m.kind },
      chip(m.kind, m.kind), " ", el("b", {}, m.from), " → ", m.to, ": ",
      el("span", { class: "subject" }, m.subject), m.body ? el("div", { class: "body" }, m.body) : null,
      el("span", { class: "dim" }, " " + ago(m.sent_at) + " ago"))));
  box.hidden = pinned.length === 0;
}

function renderControls() {
  const actions = view.actions || {};
  const hold = view.dispatch_hold;
  const box = fill("controls",
    hold ? el("span", { class: "chip stale" }, "dispatch " + (hold.mode === "drain" ? "draining" : "paused")
      + " by " + hold.by + " " + ago(hold.at) + " ago") : null,
    actions.enabled ? [el("span", { class: "dim" }, " Actions enabled. "),
      hold ? actionButton("resume", "Resume dispatch", {}) : actionButton("pause", "Pause dispatch", {})] : null);
  box.hidden = !actions.enabled && !hold;
  document.getElementById("send").hidden = !actions.enabled;
}

// ---------------------------------------------------------------- sessions

const SESSION_KNOWN = new Set(["name", "role", "stale", "task", "doing", "progress", "phase", "heartbeat_at",
  "format", "status", "capabilities", "worktree", "branch", "started_at", "ended_at", "base", "host", "into",
  "landed", "agent"]);

// Where a session's work stands: landed, queued to land, conflicting.
function workState(name, row) {
  const chips = [];
  const conflicts = ((view.board || {}).conflicts || []).filter((c) =>
    (c.session === name || (c.against === "session" && c.other === name)) && (c.conflicts || []).length);
  if (conflicts.length) {
    const files = [...new Set(conflicts.flatMap((c) => c.conflicts))];
    chips.push(el("span", { class: "chip conflicting", title: files.join(", ") }, "conflicting"));
  }
  const queued = (view.queue || []).filter((q) => q.session === name && q.state !== "landed");
  for (const q of queued) chips.push(chip((q.state || "queued") + (q.into ? " → " + q.into : ""), "queued"));
  if (row.landed) {
    chips.push(el("span", { class: "chip landed", title: plain(row.landed) },
      "landed" + (row.landed.into ? " into " + row.landed.into : "")));
  }
  return chips;
}

function renderSessions() {
  const b = view.board || {};
  const boardRows = new Map((b.sessions || []).map((s) => [s.name, s]));
  const claims = b.claims || [];
  const sessions = view.sessions || [];
  const live = sessions.filter((s) => s.status === "active" && !s.stale).length;
  const stale = sessions.filter((s) => s.status === "active" && s.stale).length;
  fill("sessions-count", live + " live, " + stale + " stale");
  const cards = sessions.map((s) => {
    const row = Object.assign({}, s, boardRows.get(s.name) || {});
    const state = s.status !== "active" ? "ended" : row.stale ? "stale" : "live";
    const mine = claims.filter((c) => c.session === s.name);
    const extra = Object.entries(row).filter(([k, v]) => !SESSION_KNOWN.has(k) && v !== null && v !== undefined
      && !(Array.isArray(v) && v.length === 0));
    return el("article", { class: "card session " + state, dataset: { session: s.name } },
      el("div", { class: "line" }, el("b", { class: "name" }, s.name), chip(state, state),
        row.role ? chip(row.role, "role") : null, row.phase ? chip(row.phase, "phase") : null,
        row.host ? chip(row.host, "host") : null,
        row.agent && row.agent.state ? chip("agent " + row.agent.state, row.agent.state) : null),
      row.doing ? el("div", { class: "doing" }, row.doing) : null,
      row.progress !== null && row.progress !== undefined ? el("div", { class: "line" }, bar(row.progress), row.progress + "%") : null,
      el("div", { class: "meta" },
        row.task ? el("span", {}, "task ", el("code", {}, row.task)) : null,
        el("span", { class: "dim" }, " heartbeat " + ago(row.heartbeat_at) + " ago")),
      row.branch || row.worktree ? el("div", { class: "meta dim", title: row.worktree || "" },
        row.branch ? el("code", {}, row.branch) : null, row.into ? " → " + row.into : null,
        row.worktree ? " " + row.worktree : null) : null,
      el("div", { class: "meta" }, workState(s.name, row)),
      (row.capabilities || []).length ? el("div", { class: "meta" }, row.capabilities.map((c) => chip(c, "cap"))) : null,
      mine.length ? el("ul", { class: "claims" }, mine.map((c) =>
        el("li", {}, el("code", {}, c.path), " ", chip(c.mode, c.mode), c.reason ? " " + c.reason : null))) : null,
      extra.length ? el("div", { class: "meta extra" }, extra.map(([k, v]) => chip(k + ": " + plain(v), "extra " + k))) : null,
      state !== "live" && mine.length ? actionButton("release-claims", "Release claims", { session: s.name }) : null);
  });
  fill("sessions", cards.length ? cards : el("p", { class: "dim" },
    "No sessions yet: start one with git orchestrate session start NAME"));
}

// ---------------------------------------------------------------- tasks

const COLUMNS = [["ready", "Ready"], ["waiting", "Waiting"], ["claimed", "Claimed"], ["done", "Done"],
  ["failed", "Failed / cancelled"]];

function statusOf(id) {
  const cols = view.columns || {};
  for (const name of Object.keys(cols)) {
    const t = (cols[name].tasks || []).find((x) => x.id === id);
    if (t) return { title: t.title, status: t.status, depends_on: t.depends_on || [] };
  }
  return (view.dependencies || {})[id] || null;
}

function renderTasks() {
  const cols = view.columns || {};
  const t = (view.board || {}).tasks || {};
  fill("tasks-count", (t.total ?? 0) + " total");
  fill("columns", COLUMNS.map(([key, label]) => {
    const col = cols[key] || { count: 0, tasks: [] };
    const more = col.count - (col.tasks || []).length;
    return el("div", { class: "column " + key, dataset: { column: key } },
      el("h3", {}, label, " ", el("span", { class: "count" }, col.count)),
      (col.tasks || []).map(taskCard),
      more > 0 ? el("p", { class: "dim" }, "and " + more + " more") : null);
  }));
  renderChain();
}

function taskCard(t) {
  const deps = t.depends_on || [];
  const depText = deps.map((d) => d + " (" + ((statusOf(d) || {}).status || "?") + ")").join(", ");
  return el("article", {
    class: "card task p" + t.priority + (selectedTask === t.id ? " selected" : ""),
    dataset: { taskId: t.id },
    title: deps.length ? "after " + depText : "",
    onclick: () => { selectedTask = selectedTask === t.id ? null : t.id; renderTasks(); },
  },
  el("div", { class: "line" }, el("code", { class: "id" }, t.id), chip("P" + t.priority, "prio p" + t.priority),
    t.role ? chip(t.role, "role") : null, t.status === "cancelled" ? chip("cancelled", "cancelled") : null),
  el("div", { class: "title" }, t.title),
  t.assignee ? el("div", { class: "meta" }, "→ " + t.assignee) : null,
  t.status === "claimed" || t.progress ? el("div", { class: "line" }, bar(t.progress), (t.progress || 0) + "%") : null,
  deps.length ? el("div", { class: "meta deps" }, "after " + deps.length + ": " + depText) : null,
  t.status === "failed" || t.status === "cancelled" ? actionButton("retry", "Retry", { task: t.id }) : null);
}

// The chosen task's dependencies, all the way down.
function renderChain() {
  const box = document.getElementById("chain");
  if (!selectedTask) { box.hidden = true; box.replaceChildren(); return; }
  const seen = new Set();
  const walk = (id, depth) => {
    const node = statusOf(id);
    const line = el("li", { style: { marginLeft: depth * 1.2 + "em" } }, el("code", {}, id), " ",
      node ? chip(node.status, node.status) : chip("unknown", ""), " ", node ? node.title : "");
    if (seen.has(id) || !node) return [line];
    seen.add(id);
    return [line, ...(node.depends_on || []).flatMap((d) => walk(d, depth + 1))];
  };
  fill("chain", el("h3", {}, "Dependency chain"), el("ul", {}, walk(selectedTask, 0)));
  box.hidden = false;
}

// ---------------------------------------------------------------- the rest

function renderMessages() {
  const list = (view.messages || []).filter((m) => !m.pinned);
  fill("messages", list.length ? list.map((m) =>
    el("li", { class: "message " + m.kind, dataset: { messageId: m.id } },
      el("span", { class: "dim" }, ago(m.sent_at) + " ago "), chip(m.kind, m.kind), " ",
      el("b", {}, m.from), " → ", m.to, ": ", el("span", { class: "subject" }, m.subject),
      m.body ? el("div", { class: "body" }, m.body) : null)) : el("li", { class: "dim" }, "No messages."));
}

const ACTIVE = new Set(["starting", "running", "restarting", "lost"]);

function renderAgents() {
  const agents = view.agents || [];
  fill("agents", agents.length ? agents.map((a) =>
    el("article", { class: "card agent " + a.state, dataset: { agent: a.session } },
      el("div", { class: "line" }, el("b", {}, a.session), chip(a.state, a.state),
        a.task ? el("code", {}, a.task) : null,
        el("span", { class: "dim" }, " restarts " + a.restarts + "/" + a.max_restarts),
        a.uptime !== null && a.uptime !== undefined ? el("span", { class: "dim" }, " up " + duration(a.uptime)) : null,
        a.exit ? el("span", { class: "dim" }, " exit " + plain(a.exit)) : null,
        ACTIVE.has(a.state) ? actionButton("stop", "Stop", { agent: a.session }) : null),
      el("div", { class: "meta dim" }, a.command),
      a.log_tail ? el("details", { open: ACTIVE.has(a.state) }, el("summary", {}, "log"), el("pre", {}, a.log_tail)) : null))
    : el("p", { class: "dim" }, "No spawned agents."));
}

// Sections of the board this page does not know by name (the landing
// queue, the conflict radar, ...): shown as tables of whatever they hold.
const BOARD_KNOWN = new Set(["generated_at", "sessions", "tasks", "done_percent", "ready", "in_progress",
  "claims", "messages", "format", "conflicts", "conflicts_note"]);

function renderExtra() {
  const b = view.board || {};
  const sections = Object.entries(b).filter(([k, v]) => !BOARD_KNOWN.has(k) && v !== null && v !== undefined
    && !(Array.isArray(v) && v.length === 0));
  fill("extra",
    "conflicts" in b || view.queue ? el("div", { class: "split" }, renderQueue(), renderRadar(b)) : null,
    sections.map(([key, value]) => el("section", { class: "extra-section", dataset: { section: key } },
      el("h2", {}, key.replace(/_/g, " ")), table(value))));
}

// The landing queue, oldest first.
function renderQueue() {
  const queue = view.queue || [];
  return el("section", { dataset: { section: "queue" } }, el("h2", {}, "Landing queue"),
    view.queue_note ? el("p", { class: "dim" }, view.queue_note) : null,
    queue.length ? el("ol", { class: "messages" }, queue.map((q) => el("li", { class: "message" },
      chip(q.state, q.state), " ", el("b", {}, q.session), " ", el("code", {}, q.branch || ""),
      q.into ? " → " + q.into : null, q.mode ? " (" + q.mode + ")" : null,
      el("span", { class: "dim" }, " queued by " + (q.queued_by || "?") + " " + ago(q.queued_at) + " ago"),
      q.reason ? el("div", { class: "body" }, q.reason) : null)))
      : el("p", { class: "dim" }, "Nothing queued."));
}

// The conflict radar: pairs of sessions (or a session and its target)
// that change the same files, and which of those would conflict.
function renderRadar(b) {
  const rows = b.conflicts || [];
  return el("section", { dataset: { section: "conflicts" } }, el("h2", {}, "Conflict radar"),
    b.conflicts_note ? el("p", { class: "dim" }, b.conflicts_note) : null,
    rows.length ? el("ol", { class: "messages" }, rows.map((c) => {
      const conflicting = c.conflicts || [];
      const clean = (c.files || []).filter((f) => !conflicting.includes(f));
      return el("li", { class: "message radar" + (conflicting.length ? " conflict" : "") },
        el("b", {}, c.session), " ↔ ", el("b", {}, c.other), c.against === "target" ? " (target)" : null,
        conflicting.length ? el("div", {}, chip("conflict", "conflicting"), " ", conflicting.join(", ")) : null,
        clean.length ? el("div", { class: "body" }, "both change: " + clean.join(", ")) : null);
    })) : el("p", { class: "dim" }, "No overlapping changes."));
}

function table(value) {
  if (Array.isArray(value) && value.length && value.every((v) => v && typeof v === "object" && !Array.isArray(v))) {
    const keys = [...new Set(value.flatMap(Object.keys))];
    return el("table", {}, el("thead", {}, el("tr", {}, keys.map((k) => el("th", {}, k)))),
      el("tbody", {}, value.map((row) => el("tr", {}, keys.map((k) => el("td", {}, plain(row[k])))))));
  }
  if (Array.isArray(value) && !value.length) return el("p", { class: "dim" }, "None.");
  if (value && typeof value === "object") {
    return el("dl", {}, Object.entries(value).flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, table(v))]));
  }
  return el("span", {}, plain(value));
}

function render() {
  renderSummary();
  renderPinned();
  renderControls();
  renderSessions();
  renderTasks();
  renderExtra();
  renderMessages();
  renderAgents();
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
}

document.getElementById("send").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const ok = await act("send", { to: f.get("to"), kind: f.get("kind"), subject: f.get("subject"), body: f.get("body") });
  if (ok) e.target.reset();
});

function setLive(on, text) {
  const live = document.getElementById("live");
  live.textContent = text;
  live.className = "conn " + (on ? "on" : "off");
  document.body.dataset.live = on ? "yes" : "no";
}

const events = new EventSource("/api/events");
events.addEventListener("view", (e) => {
  view = JSON.parse(e.data);
  setLive(true, "live");
  render();
});
events.addEventListener("open", () => setLive(true, "live"));
events.addEventListener("error", () => setLive(false, "reconnecting…"));
