// rmqlite console: a small single-page front end over the JSON API under /api/ (no build step).
// Pages are functions render<Page>(params) that fill #main; timers registered with every() are
// cleared on navigation, so figures refresh by themselves only on the page being looked at.
"use strict";

const $main = document.getElementById("main");
let timers = [];
const every = (ms, fn) => { fn(); timers.push(setInterval(fn, ms)); };
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const fmtNum = (n, d = 2) => (n === null || n === undefined || n === "") ? "–" : Number(n).toFixed(d);
const fmtInt = (n) => (n === null || n === undefined) ? "–" : Number(n).toLocaleString("en-US");
const pad = (n, w = 2) => String(n).padStart(w, "0");
function fmtTime(ms) {
  if (!ms || ms <= 0) return "–";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
function localInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

async function api(path, opts = {}) {
  const init = { method: opts.method || "GET", headers: {} };
  if (opts.body !== undefined) { init.body = JSON.stringify(opts.body); init.headers["Content-Type"] = "application/json"; }
  const resp = await fetch("/api/" + path, init);
  let data = null;
  try { data = await resp.json(); } catch (e) { data = { error: `HTTP ${resp.status}` }; }
  if (!resp.ok || (data && data.error)) throw new Error((data && data.error) || `HTTP ${resp.status}`);
  return data;
}

function toast(text, error = false) {
  const t = document.getElementById("toast");
  t.textContent = text;
  t.className = "toast" + (error ? " error" : "");
  clearTimeout(toast._t);
  toast._t = setTimeout(() => { t.className = "toast hidden"; }, error ? 6000 : 3000);
}

function roleBadge(role) {
  const r = (role || "").toLowerCase();
  const cls = r === "leader" || r === "master" ? "green" : r === "follower" || r === "slave" ? "blue"
    : r === "candidate" ? "amber" : r === "stopped" || r === "dead" || r === "down" ? "red" : "";
  return `<span class="badge ${cls}">${esc(role || "unknown")}</span>`;
}
const kindBadge = (k) => `<span class="badge ${{ normal: "blue", retry: "amber", dlq: "red", system: "violet" }[k] || ""}">${esc(k)}</span>`;
const permText = (p) => p === null || p === undefined ? "–" : (p & 4 ? "R" : "-") + (p & 2 ? "W" : "-") + (p & 1 ? "X" : "-");

// ---------------------------------------------------------------------------------------------- chart
function drawChart(svg, series) {
  const W = svg.clientWidth || 800, H = 220, L = 48, R = 12, T = 12, B = 26;
  const totals = new Map();
  for (const points of Object.values(series)) {
    for (const [ts, tin, tout] of points) {
      const k = Math.round(ts / 2000) * 2000;
      const cur = totals.get(k) || [0, 0];
      totals.set(k, [cur[0] + tin, cur[1] + tout]);
    }
  }
  const pts = [...totals.entries()].sort((a, b) => a[0] - b[0]);
  const now = Date.now();
  const span = Math.min(600000, Math.max(60000, pts.length ? now - pts[0][0] + 4000 : 60000));
  const t0 = now - span;
  const maxY = Math.max(1, ...pts.map(([, v]) => Math.max(v[0], v[1]))) * 1.15;
  const x = (t) => L + (W - L - R) * (t - t0) / (now - t0);
  const y = (v) => T + (H - T - B) * (1 - v / maxY);
  let g = "";
  for (let i = 0; i <= 4; i++) {
    const v = maxY * i / 4, yy = y(v);
    g += `<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" stroke="#eef1f5"/>`;
    g += `<text x="${L - 6}" y="${yy + 4}" font-size="11" text-anchor="end" fill="#6b7684">${v < 10 ? v.toFixed(1) : Math.round(v)}</text>`;
  }
  for (let i = 0; i <= 5; i++) {
    const back = span * (5 - i) / 5, t = now - back;
    const label = i === 5 ? "now" : back >= 60000 ? `-${(back / 60000).toFixed(back % 60000 ? 1 : 0)}m` : `-${Math.round(back / 1000)}s`;
    g += `<text x="${x(t)}" y="${H - 6}" font-size="11" text-anchor="middle" fill="#6b7684">${label}</text>`;
  }
  const line = (idx, color) => {
    const p = pts.filter(([t]) => t >= t0).map(([t, v]) => `${x(t).toFixed(1)},${y(v[idx]).toFixed(1)}`);
    return p.length > 1 ? `<polyline fill="none" stroke="${color}" stroke-width="2" points="${p.join(" ")}"/>` : "";
  };
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.innerHTML = g + line(0, "#2563eb") + line(1, "#16a34a")
    + (pts.length < 2 ? `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#6b7684" font-size="13">collecting samples…</text>` : "");
}

// ---------------------------------------------------------------------------------------------- cluster
async function renderCluster() {
  $main.innerHTML = `
    <h1>Cluster <span class="sub" id="c-sub"></span></h1>
    <div class="tiles" id="c-tiles"></div>
    <div class="card"><div class="card-head"><h2>Throughput (messages/s, up to the last 10 minutes)</h2>
      <div class="right legend"><span><i style="background:#2563eb"></i>in (put)</span><span><i style="background:#16a34a"></i>out (get)</span></div></div>
      <svg class="chart" id="c-chart"></svg></div>
    <div id="c-groups"></div>`;
  every(2000, async () => {
    try {
      const [c, tps] = await Promise.all([api("cluster"), api("tps")]);
      if (!document.getElementById("c-groups")) return;
      paintCluster(c);
      drawChart(document.getElementById("c-chart"), tps.series);
    } catch (e) { toast(e.message, true); }
  });
}

function paintCluster(c) {
  const nodes = c.groups.flatMap((g) => g.nodes);
  const alive = nodes.filter((n) => n.alive).length;
  const sum = (k) => nodes.filter((n) => n.alive && n.bid === 0).reduce((a, n) => a + (n[k] || 0), 0);
  document.getElementById("c-sub").textContent = c.controlled ? "controlled by python -m rmqlite cluster" : "read-only view";
  document.getElementById("c-tiles").innerHTML = [
    ["Broker groups", c.groups.length], ["Nodes", `${alive} / ${nodes.length} up`],
    ["Masters", c.groups.filter((g) => g.masters === 1).length + " / " + c.groups.length],
    ["In TPS", fmtNum(sum("inTps"))], ["Out TPS", fmtNum(sum("outTps"))],
  ].map(([l, v]) => `<div class="tile"><div class="label">${l}</div><div class="value">${v}</div></div>`).join("");
  document.getElementById("c-groups").innerHTML = c.groups.map((g) => `
    <div class="card" data-group="${esc(g.name)}"><div class="card-head"><h2>${esc(g.name)}</h2>
      <span class="badge">${esc(g.cluster || "")}</span>
      ${g.masters === 1 ? '<span class="badge green">1 master (BID 0)</span>' : `<span class="badge red">${g.masters} masters</span>`}
    </div>
    <table><thead><tr><th>Node</th><th>Address</th><th class="num">BID</th><th>Role</th><th class="num">Raft term</th>
      <th class="num">PID</th><th>Status</th><th class="num">In TPS</th><th class="num">Out TPS</th><th>Disk</th>
      <th class="num">Msgs today in / out</th><th>Version</th>${c.controlled ? "<th></th>" : ""}</tr></thead>
    <tbody>${g.nodes.map((n) => `<tr data-node="${esc(n.nodeId || n.addr)}">
      <td>${esc(n.nodeId || "–")}</td><td class="mono">${esc(n.addr)}</td>
      <td class="num">${n.bid === null || n.bid === undefined ? "–" : n.bid}</td><td>${roleBadge(n.role)}</td>
      <td class="num">${n.raftTerm ?? "–"}</td><td class="num">${n.pid ?? "–"}</td>
      <td><span class="dot ${n.alive ? "up" : "down"}"></span>${n.alive ? "up" : "down"}</td>
      <td class="num">${n.alive ? fmtNum(n.inTps) : "–"}</td><td class="num">${n.alive ? fmtNum(n.outTps) : "–"}</td>
      <td>${n.diskRatio !== undefined ? `<span class="bar"><span style="width:${Math.round(n.diskRatio * 100)}%"></span></span>${Math.round(n.diskRatio * 100)}%` : "–"}</td>
      <td class="num">${n.alive ? fmtInt(n.putToday) + " / " + fmtInt(n.getToday) : "–"}</td><td>${esc(n.version || "–")}</td>
      ${c.controlled ? `<td class="num">${n.nodeId ? `<button class="small danger" data-kill="${esc(n.nodeId)}" ${n.alive ? "" : "disabled"}>Kill</button>
        <button class="small" data-restart="${esc(n.nodeId)}">Restart</button>` : ""}</td>` : ""}
    </tr>`).join("")}</tbody></table></div>`).join("") || `<div class="card empty">No broker is registered with the nameserver.</div>`;
  const ns = c.namesrvNodes || [];
  if (ns.length) {
    document.getElementById("c-groups").innerHTML += `<div class="card"><div class="card-head"><h2>Nameservers</h2></div>
      <table><thead><tr><th>Node</th><th>Address</th><th class="num">PID</th><th>Status</th><th></th></tr></thead><tbody>
      ${ns.map((n) => `<tr data-node="${esc(n.nodeId)}"><td>${esc(n.nodeId)}</td><td class="mono">${esc(n.addr)}</td><td class="num">${n.pid ?? "–"}</td>
      <td><span class="dot ${n.alive ? "up" : "down"}"></span>${n.alive ? "up" : "down"}</td>
      <td class="num"><button class="small danger" data-kill="${esc(n.nodeId)}" ${n.alive ? "" : "disabled"}>Kill</button>
      <button class="small" data-restart="${esc(n.nodeId)}">Restart</button></td></tr>`).join("")}</tbody></table></div>`;
  }
}

document.addEventListener("click", async (ev) => {
  const b = ev.target.closest("button[data-kill], button[data-restart]");
  if (!b) return;
  const node = b.dataset.kill || b.dataset.restart, op = b.dataset.kill ? "kill" : "restart";
  if (op === "kill" && !confirm(`Kill node ${node}?`)) return;
  b.disabled = true;
  try { await api(`nodes/${encodeURIComponent(node)}/${op}`, { method: "POST" }); toast(`${op} ${node}: done`); }
  catch (e) { toast(`${op} ${node}: ${e.message}`, true); }
});

// ---------------------------------------------------------------------------------------------- topics
async function renderTopics() {
  const kind = sessionStorage.getItem("topicKind") || "normal";
  $main.innerHTML = `
    <h1>Topics</h1>
    <div class="card" id="t-create-card"><div class="card-head"><h2>Create or update a topic</h2></div>
      <form class="form" id="t-create">
        <label class="grow">Topic<input name="topic" required placeholder="e.g. OrderEvents"></label>
        <label>Read queues<input name="readQueues" type="number" min="1" max="1024" value="4" style="width:90px"></label>
        <label>Write queues<input name="writeQueues" type="number" min="1" max="1024" value="4" style="width:90px"></label>
        <label>Permission<select name="perm"><option value="6">RW</option><option value="4">R</option><option value="2">W</option></select></label>
        <label class="check"><input type="checkbox" name="order"> ordered</label>
        <button class="primary" type="submit">Save</button>
      </form></div>
    <div class="card"><div class="card-head"><h2>All topics</h2><div class="right">
      <input id="t-filter" placeholder="Filter by name" style="width:220px">
      <div class="tabs" id="t-kind">${["all", "normal", "retry", "dlq", "system"].map((k) => `<button data-kind="${k}" class="${k === kind ? "on" : ""}">${k === "dlq" ? "DLQ" : k[0].toUpperCase() + k.slice(1)}</button>`).join("")}</div>
    </div></div><div id="t-list"><div class="empty">Loading…</div></div></div>`;
  let rows = [];
  const paint = () => {
    const f = document.getElementById("t-filter").value.toLowerCase();
    const shown = rows.filter((r) => r.topic.toLowerCase().includes(f));
    document.getElementById("t-list").innerHTML = shown.length ? `<table><thead><tr><th>Topic</th><th>Kind</th><th>Brokers</th>
      <th class="num">Read queues</th><th class="num">Write queues</th><th>Perm</th><th>Order</th><th></th></tr></thead><tbody>
      ${shown.map((r) => `<tr data-topic="${esc(r.topic)}"><td><a href="#/topic/${encodeURIComponent(r.topic)}">${esc(r.topic)}</a></td>
        <td>${kindBadge(r.kind)}</td><td>${esc(r.brokers.join(", ") || "–")}</td><td class="num">${r.readQueues}</td>
        <td class="num">${r.writeQueues}</td><td class="mono">${permText(r.perm)}</td><td>${r.order ? "yes" : ""}</td>
        <td class="num"><button class="small danger" data-del="${esc(r.topic)}">Delete</button></td></tr>`).join("")}
      </tbody></table>` : `<div class="empty">No topic.</div>`;
  };
  const load = async () => {
    try { rows = await api("topics?kind=" + (sessionStorage.getItem("topicKind") || "normal")); paint(); }
    catch (e) { toast(e.message, true); }
  };
  document.getElementById("t-filter").addEventListener("input", paint);
  document.getElementById("t-kind").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-kind]"); if (!b) return;
    sessionStorage.setItem("topicKind", b.dataset.kind);
    document.querySelectorAll("#t-kind button").forEach((x) => x.classList.toggle("on", x === b));
    load();
  });
  document.getElementById("t-list").addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-del]"); if (!b) return;
    if (!confirm(`Delete topic ${b.dataset.del} from the cluster and the nameserver?`)) return;
    try { await api("topics/" + encodeURIComponent(b.dataset.del), { method: "DELETE" }); toast(`deleted ${b.dataset.del}`); load(); }
    catch (e) { toast(e.message, true); }
  });
  document.getElementById("t-create").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const body = { topic: f.get("topic").trim(), readQueues: +f.get("readQueues"), writeQueues: +f.get("writeQueues"), perm: +f.get("perm"), order: f.get("order") === "on" };
    try { const r = await api("topics", { method: "POST", body }); toast(`saved ${body.topic} on ${r.brokers.join(", ")}`); ev.target.reset(); load(); }
    catch (e) { toast(e.message, true); }
  });
  every(10000, load);
}

async function renderTopic(name) {
  $main.innerHTML = `
    <h1><a href="#/topics">Topics</a> / ${esc(name)}</h1>
    <div class="grid two">
      <div class="card"><div class="card-head"><h2>Route</h2></div><div id="tp-route"></div></div>
      <div class="card"><div class="card-head"><h2>Send a test message</h2></div>
        <form class="form" id="tp-send">
          <label class="grow">Body<textarea name="body" required>Hello from the rmqlite console</textarea></label>
          <label>Tags<input name="tags" style="width:130px"></label><label>Keys<input name="keys" style="width:150px"></label>
          <button class="primary" type="submit">Send</button>
        </form><div class="result" id="tp-sent"></div></div>
    </div>
    <div class="card"><div class="card-head"><h2>Queues</h2><div class="right"><span class="updated" id="tp-upd"></span></div></div>
      <div id="tp-queues"></div></div>
    <div class="card"><div class="card-head"><h2>Consumer groups</h2></div><div id="tp-groups"></div></div>`;
  document.getElementById("tp-send").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    try {
      const r = await api(`topics/${encodeURIComponent(name)}/send`, { method: "POST", body: { body: f.get("body"), tags: f.get("tags"), keys: f.get("keys") } });
      document.getElementById("tp-sent").innerHTML = `<span class="badge green">${esc(r.status)}</span> to ${esc(r.broker)} queue ${r.queueId} offset ${r.queueOffset} · id <a class="mono" href="#/message/${encodeURIComponent(r.offsetMsgId)}">${esc(r.msgId)}</a>`;
    } catch (e) { toast(e.message, true); }
  });
  every(3000, async () => {
    try {
      const t = await api("topics/" + encodeURIComponent(name));
      if (!document.getElementById("tp-queues")) return;
      const qd = Object.fromEntries(t.route.queueDatas.map((q) => [q.brokerName, q]));
      document.getElementById("tp-route").innerHTML = `<table><thead><tr><th>Broker</th><th>Cluster</th><th>Addresses (BID)</th>
        <th class="num">R/W queues</th><th>Perm</th></tr></thead><tbody>${t.route.brokerDatas.slice().sort((a, b) => a.brokerName.localeCompare(b.brokerName)).map((b) => `<tr><td>${esc(b.brokerName)}</td>
        <td>${esc(b.cluster)}</td><td class="mono">${Object.entries(b.brokerAddrs).map(([k, v]) => `${esc(v)} (${k})`).join("<br>")}</td>
        <td class="num">${qd[b.brokerName] ? qd[b.brokerName].readQueueNums + " / " + qd[b.brokerName].writeQueueNums : "–"}</td>
        <td class="mono">${qd[b.brokerName] ? permText(qd[b.brokerName].perm) : "–"}</td></tr>`).join("")}</tbody></table>`;
      document.getElementById("tp-queues").innerHTML = `<table><thead><tr><th>Broker</th><th class="num">Queue</th><th class="num">Min offset</th>
        <th class="num">Max offset</th><th class="num">Messages</th><th>Last message stored</th></tr></thead><tbody>
        ${t.queues.map((q) => `<tr><td>${esc(q.broker)}</td><td class="num">${q.queueId}</td><td class="num">${fmtInt(q.minOffset)}</td>
        <td class="num">${fmtInt(q.maxOffset)}</td><td class="num">${fmtInt(q.maxOffset - q.minOffset)}</td><td>${fmtTime(q.lastUpdate)}</td></tr>`).join("")}
        </tbody></table>`;
      document.getElementById("tp-groups").innerHTML = t.groups.length ? t.groups.map((g) => `<a class="badge blue" href="#/group/${encodeURIComponent(g)}">${esc(g)}</a>`).join(" ") : `<div class="empty">No consumer group.</div>`;
      document.getElementById("tp-upd").textContent = "updated " + new Date().toLocaleTimeString();
    } catch (e) { toast(e.message, true); }
  });
}

// ---------------------------------------------------------------------------------------------- groups
async function renderGroups() {
  $main.innerHTML = `<h1>Consumer groups</h1><div class="card"><div id="g-list"><div class="empty">Loading…</div></div></div>`;
  every(5000, async () => {
    try {
      const rows = await api("groups");
      const el = document.getElementById("g-list"); if (!el) return;
      el.innerHTML = rows.length ? `<table><thead><tr><th>Group</th><th class="num">Clients</th><th>Version</th><th>Type</th>
        <th>Model</th><th class="num">Consume TPS</th><th class="num">Lag</th></tr></thead><tbody>${rows.map((g) => `<tr data-group="${esc(g.group)}">
        <td><a href="#/group/${encodeURIComponent(g.group)}">${esc(g.group)}</a></td><td class="num">${g.count}</td>
        <td>${g.count ? esc(g.version) : '<span class="badge">offline</span>'}</td><td>${esc(g.type)}</td><td>${esc(g.model)}</td>
        <td class="num">${fmtNum(g.tps)}</td><td class="num">${g.lag > 0 ? `<span class="badge amber">${fmtInt(g.lag)}</span>` : "0"}</td></tr>`).join("")}
        </tbody></table>` : `<div class="empty">No consumer group yet (a group appears once a consumer has sent a heartbeat).</div>`;
    } catch (e) { toast(e.message, true); }
  });
}

async function renderGroup(name) {
  const hourAgo = localInput(Date.now() - 3600 * 1000);
  $main.innerHTML = `
    <h1><a href="#/groups">Consumer groups</a> / ${esc(name)}</h1>
    <div class="tiles" id="gd-tiles"></div>
    <div class="grid two">
      <div class="card"><div class="card-head"><h2>Connections</h2></div><div id="gd-conns"></div></div>
      <div class="card"><div class="card-head"><h2>Reset offset by time</h2></div>
        <form class="form" id="gd-reset">
          <label>Topic<select name="topic" id="gd-topic" style="min-width:160px"></select></label>
          <label>Time<input type="datetime-local" name="time" value="${hourAgo}"></label>
          <label class="check"><input type="checkbox" name="force" checked> force</label>
          <button class="primary" type="submit">Reset</button>
        </form><div class="result" id="gd-reset-out"></div></div>
    </div>
    <div class="card"><div class="card-head"><h2>Lag per queue</h2><div class="right"><span class="updated" id="gd-upd"></span></div></div>
      <div id="gd-queues"></div></div>`;
  let topics = [];
  document.getElementById("gd-reset").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const ts = new Date(f.get("time")).getTime();
    try {
      const r = await api(`groups/${encodeURIComponent(name)}/reset`, { method: "POST", body: { topic: f.get("topic"), timestamp: ts, force: f.get("force") === "on" } });
      document.getElementById("gd-reset-out").innerHTML = `<span class="badge green">reset (${esc(r.mode)})</span> ` + r.offsets.map((o) => `${esc(o.broker)}#${o.queueId} → ${o.offset}`).join(", ");
    } catch (e) { toast(e.message, true); }
  });
  every(3000, async () => {
    try {
      const g = await api("groups/" + encodeURIComponent(name));
      if (!document.getElementById("gd-queues")) return;
      document.getElementById("gd-tiles").innerHTML = [["Status", g.online ? "online" : "offline"], ["Clients", g.connections.length],
        ["Consume type", g.consumeType ? (g.consumeType === "CONSUME_ACTIVELY" ? "PULL" : "PUSH") : "–"], ["Consume TPS", fmtNum(g.tps)], ["Total lag", fmtInt(g.lag)]]
        .map(([l, v]) => `<div class="tile"><div class="label">${l}</div><div class="value">${esc(v)}</div></div>`).join("");
      document.getElementById("gd-conns").innerHTML = (g.connections.length ? `<table><thead><tr><th>Client id</th><th>Address</th><th>Language</th><th>Version</th></tr></thead>
        <tbody>${g.connections.map((c) => `<tr><td class="mono">${esc(c.clientId)}</td><td class="mono">${esc(c.clientAddr)}</td><td>${esc(c.language)}</td><td>${esc(c.version)}</td></tr>`).join("")}</tbody></table>`
        : `<div class="empty">No consumer online.</div>`) + (g.subscriptions.length ? `<div style="margin-top:10px">${g.subscriptions.map((s) => `<span class="badge blue">${esc(s.topic)} · ${esc(s.expression)}</span>`).join(" ")}
        <span class="muted">${esc(g.messageModel || "")} ${esc(g.consumeFromWhere || "")}</span></div>` : "");
      const ts = [...new Set([...g.subscriptions.map((s) => s.topic), ...g.queues.map((q) => q.topic)])].filter((t) => !t.startsWith("%RETRY%"));
      if (ts.join() !== topics.join()) {
        topics = ts;
        document.getElementById("gd-topic").innerHTML = ts.map((t) => `<option>${esc(t)}</option>`).join("");
      }
      document.getElementById("gd-queues").innerHTML = g.queues.length ? `<table><thead><tr><th>Topic</th><th>Broker</th><th class="num">Queue</th>
        <th class="num">Broker offset</th><th class="num">Consumer offset</th><th class="num">Lag</th><th>Last consumed message</th></tr></thead><tbody>
        ${g.queues.map((q) => `<tr><td>${esc(q.topic)}</td><td>${esc(q.broker)}</td><td class="num">${q.queueId}</td><td class="num">${fmtInt(q.brokerOffset)}</td>
        <td class="num">${fmtInt(q.consumerOffset)}</td><td class="num">${q.lag > 0 ? `<span class="badge amber">${fmtInt(q.lag)}</span>` : "0"}</td>
        <td>${fmtTime(q.lastTimestamp)}</td></tr>`).join("")}</tbody></table>` : `<div class="empty">No consumed offsets yet.</div>`;
      document.getElementById("gd-upd").textContent = "updated " + new Date().toLocaleTimeString();
    } catch (e) { toast(e.message, true); }
  });
}

// ---------------------------------------------------------------------------------------------- messages
async function renderMessages(params) {
  const mode = params.get("mode") || "time";
  const now = Date.now();
  $main.innerHTML = `
    <h1>Messages</h1>
    <div class="card"><div class="card-head"><h2>Search</h2><div class="right"><div class="tabs" id="m-mode">
      ${[["time", "Topic & time"], ["key", "Key"], ["id", "Message id"]].map(([k, l]) => `<button data-mode="${k}" class="${k === mode ? "on" : ""}">${l}</button>`).join("")}
    </div></div></div>
    <form class="form" id="m-form">
      <label>Topic<input name="topic" id="m-topic" list="m-topics" value="${esc(params.get("topic") || "")}" style="width:200px" ${mode === "id" ? "" : "required"}></label>
      <datalist id="m-topics"></datalist>
      ${mode === "time" ? `<label>From<input type="datetime-local" name="begin" value="${esc(params.get("begin") || localInput(now - 3600 * 1000))}"></label>
        <label>To<input type="datetime-local" name="end" value="${esc(params.get("end") || localInput(now + 60 * 1000))}"></label>` : ""}
      ${mode === "key" ? `<label class="grow">Key<input name="key" required value="${esc(params.get("key") || "")}"></label>` : ""}
      ${mode === "id" ? `<label class="grow">Message id (offset id, or unique key with its topic)<input name="id" required class="mono" value="${esc(params.get("id") || "")}"></label>` : ""}
      <button class="primary" type="submit">Search</button>
    </form></div>
    <div class="card"><div id="m-results"><div class="empty">Search by topic and time range, by key, or by message id.</div></div></div>`;
  api("topics?kind=normal").then((ts) => { document.getElementById("m-topics").innerHTML = ts.map((t) => `<option value="${esc(t.topic)}">`).join(""); }).catch(() => {});
  document.getElementById("m-mode").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-mode]"); if (!b) return;
    location.hash = `#/messages?mode=${b.dataset.mode}&topic=${encodeURIComponent(document.getElementById("m-topic").value)}`;
  });
  document.getElementById("m-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const q = new URLSearchParams({ topic: f.get("topic") || "" });
    if (mode === "time") { q.set("begin", new Date(f.get("begin")).getTime()); q.set("end", new Date(f.get("end")).getTime()); }
    if (mode === "key") q.set("key", f.get("key"));
    if (mode === "id") q.set("id", f.get("id").trim());
    const out = document.getElementById("m-results");
    out.innerHTML = `<div class="empty">Searching…</div>`;
    try {
      const rows = await api("messages?" + q.toString());
      out.innerHTML = rows.length ? `<table><thead><tr><th>Message id</th><th>Tags</th><th>Keys</th><th>Broker</th><th class="num">Queue</th><th class="num">Offset</th>
        <th>Stored</th><th>Body</th></tr></thead><tbody>${rows.map((r) => `<tr><td class="mono"><a href="#/message/${encodeURIComponent(r.offsetMsgId)}?topic=${encodeURIComponent(r.topic)}">${esc(r.msgId)}</a></td>
        <td>${esc(r.tags || "")}</td><td>${esc(r.keys || "")}</td><td>${esc(r.broker || "–")}</td><td class="num">${r.queueId}</td><td class="num">${r.queueOffset}</td>
        <td>${fmtTime(r.storeTimestamp)}</td><td class="muted">${esc(r.preview)}</td></tr>`).join("")}</tbody></table>`
        : `<div class="empty">No message found.</div>`;
    } catch (e) { out.innerHTML = `<div class="empty">${esc(e.message)}</div>`; }
  });
  if (params.get("go")) document.getElementById("m-form").requestSubmit();
}

async function renderMessage(id, params) {
  $main.innerHTML = `<h1><a href="#/messages">Messages</a> / <span class="mono">${esc(id)}</span></h1><div id="md"><div class="card empty">Loading…</div></div>`;
  let m;
  try { m = await api(`message?id=${encodeURIComponent(id)}&topic=${encodeURIComponent(params.get("topic") || "")}`); }
  catch (e) { document.getElementById("md").innerHTML = `<div class="card empty">${esc(e.message)}</div>`; return; }
  const hdr = [["Message id (UNIQ_KEY)", m.msgId], ["Offset message id", m.offsetMsgId], ["Topic", m.topic], ["Tags", m.tags || "–"],
    ["Keys", m.keys || "–"], ["Queue / offset", `${m.queueId} / ${m.queueOffset}`], ["Commit log offset", m.commitLogOffset],
    ["Born", `${fmtTime(m.bornTimestamp)} from ${m.bornHost}`], ["Stored", `${fmtTime(m.storeTimestamp)} on ${m.storeHost}`],
    ["Size / body", `${m.size} B record, ${m.bodyLength} B body (CRC ${m.bodyCrc})`], ["Reconsume times", m.reconsumeTimes],
    ["System flag / flag", `${m.sysFlag} / ${m.flag}`]];
  const groups = m.tracks.map((t) => t.consumerGroup);
  document.getElementById("md").innerHTML = `
    <div class="grid two">
      <div class="card"><div class="card-head"><h2>Headers</h2></div><div class="kv">${hdr.map(([k, v]) => `<div>${esc(k)}</div><div class="mono">${esc(v)}</div>`).join("")}</div></div>
      <div class="card"><div class="card-head"><h2>Properties</h2></div><table><tbody>${Object.entries(m.properties).map(([k, v]) => `<tr><td class="mono">${esc(k)}</td><td class="mono">${esc(v)}</td></tr>`).join("")}</tbody></table></div>
    </div>
    <div class="card"><div class="card-head"><h2>Body</h2><div class="right"><span class="badge">${esc(m.body.kind)}</span>${m.body.truncated ? '<span class="badge amber">truncated</span>' : ""}</div></div>
      <pre class="body" id="md-body">${esc(m.body.text)}</pre></div>
    <div class="grid two">
      <div class="card"><div class="card-head"><h2>Consumption</h2></div>${m.tracks.length ? `<table><thead><tr><th>Group</th><th>State</th><th>Detail</th></tr></thead><tbody>
        ${m.tracks.map((t) => `<tr><td><a href="#/group/${encodeURIComponent(t.consumerGroup)}">${esc(t.consumerGroup)}</a></td><td><span class="badge ${t.trackType === "CONSUMED" ? "green" : t.trackType === "NOT_CONSUME_YET" ? "amber" : ""}">${esc(t.trackType)}</span></td>
        <td class="muted">${esc(t.exceptionDesc || "")}</td></tr>`).join("")}</tbody></table>` : `<div class="empty">No consumer group subscribes to this topic.</div>`}</div>
      <div class="card"><div class="card-head"><h2>Resend to a consumer group</h2></div>
        <form class="form" id="md-resend"><label class="grow">Group<input name="group" list="md-groups" required value="${esc(groups[0] || "")}"></label>
          <datalist id="md-groups">${groups.map((g) => `<option value="${esc(g)}">`).join("")}</datalist>
          <button class="primary" type="submit">Resend</button></form><div class="result" id="md-resent"></div></div>
    </div>`;
  document.getElementById("md-resend").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const group = new FormData(ev.target).get("group");
    try {
      const r = await api("message/resend", { method: "POST", body: { id: m.offsetMsgId, group, topic: m.topic } });
      document.getElementById("md-resent").innerHTML = `<span class="badge green">${esc(r.consumeResult || "sent")}</span> <span class="muted">${esc(r.remark || "")}</span>`;
    } catch (e) { toast(e.message, true); }
  });
}

// ---------------------------------------------------------------------------------------------- router
function route() {
  document.getElementById("toast").className = "toast hidden";
  timers.forEach(clearInterval);
  timers = [];
  const hash = location.hash.replace(/^#\/?/, "") || "cluster";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const [page, ...rest] = path.split("/");
  const arg = decodeURIComponent(rest.join("/"));
  const tab = { topic: "topics", group: "groups", message: "messages" }[page] || page;
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === tab));
  const pages = { cluster: renderCluster, topics: renderTopics, topic: () => renderTopic(arg), groups: renderGroups,
    group: () => renderGroup(arg), messages: () => renderMessages(params), message: () => renderMessage(arg, params) };
  (pages[page] || renderCluster)(params);
}
window.addEventListener("hashchange", route);
api("cluster").then((c) => { document.getElementById("ns").textContent = "namesrv " + c.namesrv; }).catch(() => {});
route();
