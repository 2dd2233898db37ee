// The Rampart dashboard. Everything it shows comes from the admin API of
// the listener that served it, and is written into the page as text only.
"use strict";

const tokenKey = "rampart-admin-token";
let token = sessionStorage.getItem(tokenKey) || "";
let timer = 0;

const $ = (id) => document.getElementById(id);

// el builds an element; string and number children become text nodes.
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const c of children) {
    e.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  }
  return e;
}

function setStatus(text, bad) {
  const s = $("status");
  s.textContent = text;
  s.className = bad ? "bad" : "";
}

// api calls the admin API; an error answer becomes an Error with the
// gateway's message.
async function api(path, init) {
  const headers = {};
  if (token) headers.Authorization = "Bearer " + token;
  if (init && init.body) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { ...init, headers, cache: "no-store", credentials: "omit" });
  const isJSON = (resp.headers.get("Content-Type") || "").includes("json");
  const body = isJSON ? await resp.json() : await resp.text();
  if (resp.status === 401) {
    showLogin(true);
    throw new Error("The admin API needs its token.");
  }
  if (!resp.ok && resp.status !== 202) {
    const msg = body && body.error ? body.error.message || body.error : resp.status + " " + resp.statusText;
    throw new Error(String(msg));
  }
  return { status: resp.status, body };
}

function showLogin(on) {
  $("login").hidden = !on;
  $("main").hidden = on;
  $("forget").hidden = on || !token;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function when(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toLocaleString();
}

function num(n) {
  return (n || 0).toLocaleString();
}

function renderKills(kills) {
  $("kills").hidden = kills.length === 0;
  $("kills-empty").hidden = kills.length !== 0;
  fill($("kills").tBodies[0], kills.map((k) => {
    const revive = el("button", { type: "button", textContent: "Revive" });
    revive.addEventListener("click", () => flip("revive", k.target, ""));
    return el("tr", null, el("td", null, k.target), el("td", null, k.actor),
      el("td", null, k.reason || ""), el("td", null, when(k.at)), el("td", null, revive));
  }));
}

function renderUpstreams(ups) {
  fill($("upstreams").tBodies[0], ups.map((u) => {
    const health = u.health ? u.health.state : "";
    return el("tr", { className: u.killed || u.circuit_open || (health && health !== "healthy") ? "warn" : "" },
      el("td", null, u.name), el("td", null, u.flavor), el("td", null, u.public ? "yes" : "no"),
      el("td", null, health), el("td", null, u.circuit_open ? "open" : "closed"), el("td", null, u.killed ? "yes" : "no"));
  }));
}

function renderUsage(rows) {
  fill($("usage").tBodies[0], rows.map((r) => el("tr", null,
    el("td", null, r.key || ""), el("td", null, r.model || ""), el("td", { className: "n" }, num(r.requests)),
    el("td", { className: "n" }, num(r.errors)), el("td", { className: "n" }, num(r.prompt_tokens)),
    el("td", { className: "n" }, num(r.completion_tokens)), el("td", { className: "n" }, num(r.reasoning_tokens)),
    el("td", { className: "n" }, (r.cost || 0).toFixed(4)))));
}

function renderAudit(records) {
  if ($("refused-only").checked) records = records.filter((r) => r.status >= 400);
  fill($("audit").tBodies[0], records.map((r) => {
    const who = r.principal ? r.principal.name || r.principal.id || "" : "";
    const verdicts = (r.verdicts || []).filter((v) => v.action !== "pass")
      .map((v) => v.stage + " " + v.rule + ": " + v.action).join(", ");
    const status = r.status + (r.error_code ? " " + r.error_code : "");
    return el("tr", { className: r.status >= 400 ? "warn" : "" },
      el("td", null, when(r.time)), el("td", { className: "id" }, r.request_id), el("td", null, who),
      el("td", null, r.model_requested || ""), el("td", null, status), el("td", null, verdicts));
  }));
}

async function refresh() {
  clearTimeout(timer);
  try {
    const [kills, ups, usage, audit] = await Promise.all([
      api("/admin/v1/kill"),
      api("/admin/v1/upstreams"),
      api("/admin/v1/usage?group_by=key,model&granularity=total"),
      api("/admin/v1/audit?order=newest&limit=100"),
    ]);
    renderKills(kills.body.kills || []);
    renderUpstreams(ups.body.upstreams || []);
    renderUsage(usage.body.usage || []);
    renderAudit(audit.body.records || []);
    if ($("config-details").open) {
      $("config").textContent = (await api("/admin/v1/config")).body;
    }
    showLogin(false);
    setStatus("Updated " + new Date().toLocaleTimeString(), false);
  } catch (err) {
    setStatus(err.message, true);
  }
  if (!document.hidden) timer = setTimeout(refresh, 5000);
}

async function flip(verb, target, reason) {
  const what = verb === "kill" ? "Cut off " + target + " now?" : "Revive " + target + "?";
  if (!window.confirm(what)) return;
  try {
    const res = await api("/admin/v1/" + verb, {
      method: "POST",
      body: JSON.stringify({ target, reason, actor: "dashboard" }),
    });
    setStatus(res.body && res.body.message ? res.body.message : verb + " " + target + ": done", res.status === 202);
  } catch (err) {
    setStatus(verb + " " + target + ": " + err.message, true);
  }
  refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    token = $("token").value.trim();
    sessionStorage.setItem(tokenKey, token);
    $("token").value = "";
    refresh();
  });
  $("forget").addEventListener("click", () => {
    token = "";
    sessionStorage.removeItem(tokenKey);
    showLogin(true);
  });
  $("kill-form").addEventListener("submit", (e) => {
    e.preventDefault();
    flip("kill", $("kill-target").value.trim(), $("kill-reason").value.trim());
  });
  $("refused-only").addEventListener("change", refresh);
  $("config-details").addEventListener("toggle", refresh);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) refresh();
  });
  refresh();
});
