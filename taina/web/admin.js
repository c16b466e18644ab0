// The dashboard: log in, then the overview (admin.overview.js, its charts in admin.charts.js), conversations
// (with recordings and waterfalls), documents, appointments, usage and cost (admin.usage.js), users, the
// audit log and the settings (admin.settings.js), each through the REST API with the access token. Everything shown is in Spanish; an
// empty list says what to do next. What a role cannot do is not shown, and the API refuses it anyway.
"use strict";

const ROLES = ["viewer", "editor", "admin"];
const OUTCOMES = { answered: "Respondida", booked: "Cita reservada", handed_off: "Pasada al personal",
  failed: "Con error", silent: "Sin voz" };
const OUTCOME_COLOURS = { answered: "#0b7a75", booked: "#1d4ed8", handed_off: "#a16207", failed: "#b42318",
  silent: "#98a2b3" };
const PORTS = { speech_to_text: "Reconocimiento de voz", language_model: "Modelo de lenguaje",
  text_to_speech: "Síntesis de voz" };
const ACTIONS = { user_created: "Creó una cuenta", user_changed: "Cambió una cuenta", password_reset: "Restableció una contraseña",
  password_changed: "Cambió su contraseña", password_change_failed: "Intento fallido de cambiar la contraseña",
  settings_changed: "Cambió ajustes", transcript_read: "Leyó una conversación", listened: "Escuchó una grabación",
  downloaded: "Descargó una grabación", backup_created: "Copia de seguridad hecha", backup_failed: "Copia de seguridad fallida",
  login: "Entró", login_oidc: "Entró con la cuenta de la clínica", login_failed: "Intento de entrada fallido",
  login_oidc_failed: "Intento fallido con la cuenta de la clínica", logout: "Salió", uploaded: "Subió un documento",
  deleted: "Eliminó un documento", reindexed: "Reindexó un documento", appointment_booked: "Reservó una cita",
  appointment_moved: "Movió una cita", appointment_cancelled: "Canceló una cita" };
// The API's own words are for integrators (English) except where it answers the dashboard in Spanish (a
// "field" names the form field): the dashboard says what happened in Spanish, by status.
const FAILURES = { 400: "El servidor no aceptó los datos enviados.", 403: "Tu cuenta no tiene permiso para hacer esto.",
  404: "No se encontró: quizá otra persona lo eliminó.", 409: "Eso choca con algo que ya existe.",
  413: "El archivo es demasiado grande.", 415: "Ese tipo de archivo no se admite.",
  429: "Demasiados intentos seguidos; espera un momento y vuelve a probar.",
  501: "El sistema de citas conectado no permite esta consulta." };
const STATUS = { ready: "Lista", failed: "Falló", refused: "Rechazado", unchanged: "Sin cambios", duplicate: "Duplicado" };
const STAGE_NAMES = { end_of_speech: "fin del habla", transcript: "reconocido", first_token: "primera palabra",
  first_clause: "primera frase", tts_first_audio: "voz lista", reply_text: "respuesta escrita", first_audio: "primer audio" };
const STAGE_COLOURS = { transcript: "#1d4ed8", first_token: "#a16207", first_clause: "#7c3aed",
  tts_first_audio: "#0891b2", first_audio: "#0b7a75" };

let session = JSON.parse(sessionStorage.getItem("taina.session") || "null");
let me = null;
const $ = (selector) => document.querySelector(selector);

function problem(message) {
  const box = $("#problem");
  box.textContent = message || "";
  box.hidden = !message;
}

async function api(path, options = {}, retried = false) {
  const headers = { ...(options.headers || {}) };
  if (session) headers.Authorization = "Bearer " + session.access_token;
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && session && !retried && path !== "/api/auth/refresh") {
    const renewed = await fetch("/api/auth/refresh", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: session.refresh_token }),
    });
    if (renewed.ok) {
      saveSession(await renewed.json());
      return api(path, options, true);
    }
    showLogin();
    throw new Error("La sesión terminó; entra de nuevo.");
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw failure(response.status, body);
  }
  return response;
}

function failure(status, body) {
  const spanish = body.field !== undefined;
  const error = new Error(spanish ? body.error
    : FAILURES[status] || (status >= 500 ? "El servidor tuvo un problema; inténtalo de nuevo en un momento." : "No se pudo hacer (error " + status + ")."));
  error.field = body.field;
  error.detail = body.error || "";
  return error;
}

const json = async (path, options) => (await api(path, options)).json();

function saveSession(tokens) {
  session = tokens;
  sessionStorage.setItem("taina.session", JSON.stringify(tokens));
}

function may(role) {
  return me && ROLES.indexOf(me.role) >= ROLES.indexOf(role);
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function button(label, onClick, className = "secondary") {
  const b = document.createElement("button");
  b.type = "button"; // inside a form it would submit it too
  b.textContent = label;
  b.className = className;
  b.addEventListener("click", (event) => { event.stopPropagation(); onClick().catch((err) => problem(err.message)); });
  return b;
}

function when(iso) {
  return new Date(iso).toLocaleString("es-DO", { dateStyle: "medium", timeStyle: "short", timeZone: CLINIC_TIME_ZONE });
}

function money(amount, currency) {
  const digits = amount !== 0 && Math.abs(amount) < 1 ? 4 : 2;
  return amount.toLocaleString("es-DO", { minimumFractionDigits: digits, maximumFractionDigits: digits }) + " " + currency;
}

function bytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i += 1; }
  return n.toLocaleString("es-DO", { maximumFractionDigits: i ? 1 : 0 }) + " " + units[i];
}

function ms(value) {
  return value === null || value === undefined ? "—" : Math.round(value).toLocaleString("es-DO") + " ms";
}

// A table's rows, or its empty state instead of the bare headers.
function showRows(tableId, emptyId, count) {
  $(tableId).hidden = count === 0;
  $(emptyId).hidden = count !== 0;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// -- log in / out -----------------------------------------------------------------------------------------

function showLogin() {
  session = null;
  sessionStorage.removeItem("taina.session");
  $("#app").hidden = true;
  $("#login").hidden = false;
}

$("#login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const error = event.target.querySelector(".error");
  error.hidden = true;
  const response = await fetch("/api/auth/login", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: form.get("email"), password: form.get("password") }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    error.textContent = response.status === 401 ? "Correo o contraseña incorrectos." : failure(response.status, body).message;
    error.hidden = false;
    return;
  }
  saveSession(body);
  start();
});

$("#logout").addEventListener("click", async () => {
  await api("/api/auth/logout", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: session.refresh_token }),
  }).catch(() => {});
  showLogin();
});

// -- tabs -------------------------------------------------------------------------------------------------

const loaders = {};

function openTab(name) {
  document.querySelectorAll("#tabs button").forEach((b) => {
    if (b.dataset.tab === name) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  });
  document.querySelectorAll("[data-panel]").forEach((panel) => { panel.hidden = panel.dataset.panel !== name; });
  problem("");
  loaders[name]().catch((err) => problem(err.message));
}

document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => openTab(b.dataset.tab)));

// -- documents --------------------------------------------------------------------------------------------

loaders.documents = async () => {
  const { documents } = await json("/api/documents");
  const body = $("#documents");
  body.replaceChildren();
  showRows("#documents-table", "#documents-empty", documents.length);
  for (const doc of documents) {
    const row = document.createElement("tr");
    cell(row, doc.title || doc.name).title = doc.name;
    cell(row, STATUS[doc.status] || doc.status, "status-" + doc.status).title = doc.error || "";
    cell(row, String(doc.chunks));
    cell(row, when(doc.updated_at));
    const actions = cell(row, "");
    if (may("editor")) {
      actions.append(button("Reindexar", async () => {
        await api(`/api/documents/${doc.id}/reindex`, { method: "POST" });
        await loaders.documents();
      }), " ", button("Eliminar", async () => {
        if (!confirm(`¿Eliminar «${doc.name}»?`)) return;
        await api(`/api/documents/${doc.id}`, { method: "DELETE" });
        await loaders.documents();
      }, "danger"));
    }
    body.appendChild(row);
  }
};

$("#files").addEventListener("change", (event) => {
  const files = [...event.target.files];
  if (!files.length) return;
  const form = new FormData();
  files.forEach((f) => form.append("files", f, f.name));
  const progress = $("#upload-progress");
  progress.hidden = false;
  progress.value = 0;
  const request = new XMLHttpRequest(); // XHR, for upload progress
  request.open("POST", "/api/documents");
  request.setRequestHeader("Authorization", "Bearer " + session.access_token);
  request.upload.onprogress = (e) => { if (e.lengthComputable) progress.value = (100 * e.loaded) / e.total; };
  request.onload = () => {
    progress.hidden = true;
    event.target.value = "";
    let body = {};
    try { body = JSON.parse(request.responseText); } catch (_err) { /* shown below */ }
    if (request.status !== 200) { problem(failure(request.status, body).message); return; }
    const list = $("#upload-results");
    list.replaceChildren();
    for (const result of body.results) {
      const item = document.createElement("li");
      item.className = "status-" + result.status;
      const why = result.status === "refused" ? " — no se pudo leer: formato no admitido, archivo dañado o demasiado grande"
        : result.status === "failed" ? " — no se pudo indexar; prueba a reindexarlo" : "";
      item.textContent = `${result.name}: ${STATUS[result.status] || result.status}${why}`;
      if (result.error) item.title = result.error;
      list.appendChild(item);
    }
    loaders.documents().catch((err) => problem(err.message));
  };
  request.onerror = () => { progress.hidden = true; problem("No se pudo subir: el servidor no respondió."); };
  request.send(form);
});

$("#search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = $("#search").value.trim();
  if (!q) return;
  try {
    const { passages } = await json("/api/search?" + new URLSearchParams({ q, k: "5" }));
    const list = $("#passages");
    list.replaceChildren();
    for (const p of passages) {
      const item = document.createElement("li");
      const head = document.createElement("strong");
      head.textContent = p.heading.startsWith(p.title) ? p.heading : `${p.title} — ${p.heading}`;
      item.append(head, document.createElement("br"), p.text);
      list.appendChild(item);
    }
    if (!passages.length) list.textContent = "Nada encontrado en los documentos para esa pregunta.";
  } catch (err) { problem(err.message); }
});

// -- conversations ----------------------------------------------------------------------------------------

loaders.conversations = async () => {
  const { conversations } = await json("/api/conversations");
  const body = $("#conversations");
  body.replaceChildren();
  showRows("#conversations-table", "#conversations-empty", conversations.length);
  for (const c of conversations) {
    const row = document.createElement("tr");
    row.dataset.id = c.id;
    cell(row, when(c.started_at));
    cell(row, `${Math.round(c.seconds)} s`);
    cell(row, String(c.turns));
    cell(row, OUTCOMES[c.outcome] || c.outcome);
    row.addEventListener("click", () => showConversation(c.id).catch((err) => problem(err.message)));
    body.appendChild(row);
  }
};

async function showConversation(id) {
  const c = await json(`/api/conversations/${id}`);
  $("#conversation").hidden = false;
  $("#conversation-title").textContent = `${when(c.started_at)} · ${OUTCOMES[c.outcome] || c.outcome}`;
  const audio = $("#recording");
  audio.hidden = c.recording_seconds === null;
  audio.dataset.seconds = c.recording_seconds === null ? "" : String(c.recording_seconds);
  if (c.recording_seconds !== null) {
    const blob = await (await api(`/api/conversations/${id}/recording`)).blob(); // the token rides in a header
    if (audio.src) URL.revokeObjectURL(audio.src);
    audio.src = URL.createObjectURL(blob);
  }
  // Its trace, when a trace viewer is set (TAINA_TRACE_VIEWER_URL).
  $("#call-trace").hidden = !c.trace_url;
  if (c.trace_url) $("#trace-link").href = c.trace_url;
  showCost(id).catch(() => { $("#call-cost").textContent = "No se pudo calcular el coste de esta llamada."; });
  $("#stage-legend").replaceChildren("Cada turno, desde que el paciente dejó de hablar: ",
    ...Object.entries(STAGE_COLOURS).map(([stage, colour]) => {
      const item = element("span");
      const swatch = element("i");
      swatch.style.background = colour;
      item.append(swatch, STAGE_NAMES[stage]);
      return item;
    }));
  const list = $("#turns");
  list.replaceChildren();
  if (!c.turns.length) list.append(element("li", "La llamada terminó sin que el paciente dijera nada que la asistente reconociera.", "note"));
  const longest = Math.max(1000, ...c.turns.map((t) => Math.max(...Object.values(t.timings_ms), 0)));
  for (const turn of c.turns) {
    const item = document.createElement("li");
    const said = document.createElement("div");
    said.className = "said";
    said.textContent = "Paciente: " + turn.transcript;
    const reply = document.createElement("div");
    reply.className = "reply" + (turn.interrupted ? " interrupted" : "");
    reply.textContent = "TAINA: " + turn.reply;
    item.append(said, reply, waterfall(turn.timings_ms, longest));
    list.appendChild(item);
  }
}

async function showCost(id) {
  const { cost, usage } = await json(`/api/conversations/${id}/usage`);
  const parts = [];
  for (const [provider, t] of Object.entries(usage.language_model || {})) {
    parts.push(`${provider}: ${t.prompt} tokens de entrada (${t.cached} en caché), ${t.completion} de salida`);
  }
  for (const [provider, s] of Object.entries(usage.speech_to_text || {})) parts.push(`${provider}: ${s} s de audio`);
  for (const [provider, c] of Object.entries(usage.text_to_speech || {})) parts.push(`${provider}: ${c} caracteres`);
  const total = cost.note ? "0 (todo corre en esta máquina)" : money(cost.total, cost.currency);
  $("#call-cost").textContent = `Coste: ${total}` + (parts.length ? ` · ${parts.join(" · ")}` : "");
}

function waterfall(timings, longest) {
  // One bar per stage, from the previous stage to this one, in ms after the caller stopped speaking.
  const bar = document.createElement("div");
  bar.className = "waterfall";
  bar.title = Object.entries(timings).map(([k, v]) => `${STAGE_NAMES[k] || k}: ${Math.round(v)} ms`).join(" · ");
  let previous = timings.end_of_speech || 0;
  for (const [stage, colour] of Object.entries(STAGE_COLOURS)) {
    if (!(stage in timings)) continue;
    const span = document.createElement("span");
    span.style.left = (100 * previous) / longest + "%";
    span.style.width = Math.max(0.5, (100 * (timings[stage] - previous)) / longest) + "%";
    span.style.background = colour;
    span.textContent = STAGE_NAMES[stage];
    bar.appendChild(span);
    previous = Math.max(previous, timings[stage]);
  }
  return bar;
}

// -- appointments -----------------------------------------------------------------------------------------

let catalogue = null;

loaders.appointments = async () => {
  if (!catalogue) {
    catalogue = await json("/api/appointments/catalogue");
    for (const site of catalogue.sites) $("#site-filter").add(new Option(site.name, site.id));
    for (const doctor of catalogue.doctors) $("#doctor-filter").add(new Option(doctor.name, doctor.id));
  }
  const filters = new URLSearchParams();
  if ($("#site-filter").value) filters.set("site_id", $("#site-filter").value);
  if ($("#doctor-filter").value) filters.set("doctor_id", $("#doctor-filter").value);
  const { appointments } = await json("/api/appointments/upcoming?" + filters);
  const sites = Object.fromEntries(catalogue.sites.map((s) => [s.id, s.name]));
  const body = $("#appointments");
  body.replaceChildren();
  showRows("#appointments-table", "#appointments-empty", appointments.length);
  const filtered = Boolean($("#site-filter").value || $("#doctor-filter").value);
  $("#appointments-empty-title").textContent = filtered ? "No hay citas próximas con estos filtros" : "No hay citas próximas";
  $("#appointments-empty-text").hidden = filtered;
  for (const a of appointments) {
    const row = document.createElement("tr");
    cell(row, when(a.starts_at));
    cell(row, `${a.patient_name} (${a.patient_phone})`);
    cell(row, a.doctor_name);
    cell(row, sites[a.site_id] || a.site_id);
    const actions = cell(row, "");
    if (may("editor")) {
      actions.append(button("Mover", async () => {
        const local = new Date(a.starts_at)
          .toLocaleString("sv-SE", { timeZone: "America/Santo_Domingo" }).replace(" ", "T").slice(0, 16);
        const answer = prompt("Nueva fecha y hora (AAAA-MM-DDTHH:MM, hora de la clínica):", local);
        if (!answer) return;
        await api(`/api/appointments/${a.id}`, {
          method: "PATCH", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ starts_at: answer.length === 16 ? answer + ":00-04:00" : answer }),
        });
        await loaders.appointments();
      }), " ", button("Cancelar", async () => {
        if (!confirm(`¿Cancelar la cita de ${a.patient_name}?`)) return;
        await api(`/api/appointments/${a.id}`, { method: "DELETE" });
        await loaders.appointments();
      }, "danger"));
    }
    body.appendChild(row);
  }
};

$("#site-filter").addEventListener("change", () => loaders.appointments().catch((err) => problem(err.message)));
$("#doctor-filter").addEventListener("change", () => loaders.appointments().catch((err) => problem(err.message)));

// -- users and audit (admin) ------------------------------------------------------------------------------

loaders.users = async () => {
  const { users } = await json("/api/users");
  const body = $("#users");
  body.replaceChildren();
  for (const u of users) {
    const row = document.createElement("tr");
    cell(row, u.email);
    cell(row, { viewer: "Lectura", editor: "Editor", admin: "Administrador" }[u.role]);
    cell(row, u.disabled ? "Desactivado" : "Activo");
    const actions = cell(row, "");
    if (u.id !== me.id) {
      actions.append(button(u.disabled ? "Activar" : "Desactivar", async () => {
        await api(`/api/users/${u.id}`, {
          method: "PATCH", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ disabled: !u.disabled }),
        });
        await loaders.users();
      }));
    }
    body.appendChild(row);
  }
};

$("#user-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const error = $("#user-form-error");
  error.hidden = true;
  try {
    await api("/api/users", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.fromEntries(form.entries())),
    });
    event.target.reset();
    await loaders.users();
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
  }
});

loaders.settings = () => loadSettings(); // admin.settings.js

loaders.audit = async () => {
  const { entries } = await json("/api/audit?limit=200");
  const body = $("#audit");
  body.replaceChildren();
  $("#audit-empty").hidden = entries.length !== 0;
  for (const e of entries) {
    const row = document.createElement("tr");
    cell(row, when(e.at));
    cell(row, e.user || "el sistema");
    cell(row, ACTIONS[e.action] || e.action).title = e.action;
    cell(row, e.target);
    body.appendChild(row);
  }
};

// -- start ------------------------------------------------------------------------------------------------

async function start() {
  try {
    me = await json("/api/auth/me");
  } catch (_err) {
    showLogin();
    return;
  }
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#who").textContent = `${me.email} · ${{ viewer: "lectura", editor: "editor", admin: "administrador" }[me.role]}`;
  document.querySelectorAll("[data-role-min]").forEach((el) => { el.hidden = !may(el.dataset.roleMin); });
  document.querySelectorAll(".viewer-only").forEach((el) => { el.hidden = may("editor"); });
  openTab("overview");
}

// Sign-in through the clinic's identity provider: its button when it is set up, and on the way back a
// one-time code in the fragment, exchanged for the tokens (and removed from the address bar).
fetch("/api/auth/oidc").then((r) => (r.ok ? r.json() : {})).then((o) => { $("#oidc-login").hidden = !o.enabled; })
  .catch(() => {});

async function fromProvider(code) {
  history.replaceState(null, "", location.pathname);
  const response = await fetch("/api/auth/oidc/exchange", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ code }),
  });
  if (!response.ok) {
    showLogin();
    const error = $("#login-form .error");
    error.textContent = "No se pudo entrar con la cuenta de la clínica; inténtalo de nuevo.";
    error.hidden = false;
    return;
  }
  saveSession(await response.json());
  start();
}

// Once every script has run (the overview, usage and settings pages are in their own files).
document.addEventListener("DOMContentLoaded", () => {
  const oidcCode = new URLSearchParams(location.hash.slice(1)).get("oidc");
  if (oidcCode) fromProvider(oidcCode);
  else if (session) start(); else showLogin();
});
