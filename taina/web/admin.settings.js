// The settings form (admin), built from what GET /api/settings says of each setting: a switch for yes/no, a
// list for choices, a slider with a number box for bounded numbers, a number box with its unit, a password
// box for a secret (never filled in: typing replaces it), text otherwise. Values are checked here first and
// again by the server; either's reason is shown under the field it is about.
"use strict";

const GROUP_ORDER = ["Asistente", "Voz", "Turnos de palabra", "Precios"];

function settingControl(s) {
  const id = "setting-" + s.name;
  let input;
  if (s.kind === "toggle") {
    input = document.createElement("input");
    input.type = "checkbox";
    input.setAttribute("role", "switch");
    input.checked = s.value === "true";
    input.dataset.original = s.value;
    const wrap = document.createElement("span");
    wrap.className = "switch";
    const state = document.createElement("span");
    state.className = "switch-state";
    state.textContent = input.checked ? "Sí" : "No";
    input.addEventListener("change", () => { state.textContent = input.checked ? "Sí" : "No"; });
    input.name = s.name;
    input.id = id;
    wrap.append(input, state);
    return wrap;
  }
  if (s.kind === "select") {
    input = document.createElement("select");
    for (const c of s.choices) input.add(new Option(c.label, c.value));
    input.value = s.value;
  } else if (s.kind === "textarea") {
    input = document.createElement("textarea");
    input.value = s.value;
    input.rows = s.name.endsWith("SYSTEM_PROMPT") ? 8 : 2;
    input.placeholder = s.default ? "" : "Vacío: " + (s.name.endsWith("SYSTEM_PROMPT") ? "las instrucciones de TAINA" : "espera a que hable el paciente");
  } else if (s.kind === "secret") {
    input = document.createElement("input");
    input.type = "password";
    input.autocomplete = "new-password";
    input.placeholder = s.is_set ? "Configurada (no se muestra); escribe para cambiarla" : "Sin configurar";
    input.value = "";
  } else if (s.kind === "range" || s.kind === "number") {
    input = document.createElement("input");
    input.type = "number";
    input.inputMode = s.integer ? "numeric" : "decimal";
    if (s.min !== null) input.min = s.min;
    if (s.max !== null) input.max = s.max;
    input.step = s.integer ? String(s.kind === "range" ? 1 : s.step) : "any";
    input.value = s.value;
  } else {
    input = document.createElement("input");
    input.type = "text";
    input.value = s.value;
    if (s.pattern) input.dataset.pattern = s.pattern;
  }
  input.name = s.name;
  input.id = id;
  input.dataset.original = s.kind === "secret" ? "" : s.value;
  input.dataset.kind = s.kind;
  const box = document.createElement("span");
  box.className = "control";
  if (s.kind === "range") {
    const slider = document.createElement("input");
    slider.type = "range";
    slider.min = s.min;
    slider.max = s.max;
    slider.step = s.step;
    slider.value = s.value;
    slider.dataset.for = s.name;
    slider.setAttribute("aria-label", s.label);
    slider.addEventListener("input", () => { input.value = slider.value; clearFieldError(s.name); });
    input.addEventListener("input", () => { if (input.value !== "") slider.value = input.value; });
    box.append(slider);
  }
  box.append(input);
  if (s.unit) {
    const unit = document.createElement("span");
    unit.className = "unit";
    unit.textContent = s.unit;
    box.append(unit);
  }
  return box;
}

function fieldValue(input) {
  if (input.type === "checkbox") return input.checked ? "true" : "false";
  return input.value;
}

// What is wrong with the field's value, in the words the server would use; "" if nothing.
function checkField(s, input) {
  const value = fieldValue(input);
  if (s.kind === "range" || s.kind === "number") {
    if (value.trim() === "") return "Escribe un número.";
    const number = Number(value);
    if (!Number.isFinite(number)) return "Debe ser un número (con punto para los decimales).";
    if (s.integer && !Number.isInteger(number)) return "Debe ser un número entero.";
    const unit = s.unit ? " " + s.unit : "";
    if (s.min !== null && s.max !== null && (number < s.min || number > s.max)) return `Debe estar entre ${s.min} y ${s.max}${unit}.`;
    if (s.min !== null && number < s.min) return `Debe ser al menos ${s.min}${unit}.`;
    if (s.max !== null && number > s.max) return `Debe ser como mucho ${s.max}${unit}.`;
  }
  if (input.dataset.pattern && value && !new RegExp(input.dataset.pattern).test(value)) {
    return "El formato no es válido." + (s.default ? ` Ejemplo: ${s.default}.` : "");
  }
  return "";
}

function fieldError(name, message) {
  const slot = document.getElementById("error-" + name);
  if (!slot) return false;
  slot.textContent = message;
  slot.hidden = !message;
  slot.closest(".setting").classList.toggle("invalid", Boolean(message));
  return true;
}

function clearFieldError(name) { fieldError(name, ""); }

let settingsShown = [];

async function loadSettings() {
  const { settings, providers } = await json("/api/settings");
  settingsShown = settings;
  $("#providers").textContent = [providers.speech_to_text, providers.language_model, providers.text_to_speech].join(" · ");
  const form = $("#settings-form");
  form.replaceChildren();
  const groups = [...new Set([...GROUP_ORDER, ...settings.map((s) => s.group)])];
  for (const group of groups) {
    const inGroup = settings.filter((s) => s.group === group);
    if (!inGroup.length) continue;
    const fieldset = document.createElement("fieldset");
    const legend = document.createElement("legend");
    legend.textContent = group;
    fieldset.append(legend);
    for (const s of inGroup) fieldset.append(settingRow(s));
    form.append(fieldset);
  }
  const actions = document.createElement("div");
  actions.className = "form-actions";
  const save = document.createElement("button");
  save.type = "submit";
  save.textContent = "Guardar cambios";
  const status = document.createElement("span");
  status.id = "settings-status";
  status.setAttribute("role", "status");
  actions.append(save, status);
  form.append(actions);
}

function settingRow(s) {
  const row = document.createElement("div");
  row.className = "setting";
  row.dataset.setting = s.name;
  const label = document.createElement("label");
  label.htmlFor = "setting-" + s.name;
  label.textContent = s.label;
  if (s.changed_here) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "cambiado aquí";
    label.append(" ", badge);
  }
  const control = settingControl(s);
  const help = document.createElement("small");
  const shownDefault = s.kind === "toggle" ? (s.default === "true" ? "sí" : "no")
    : s.kind === "select" ? (s.choices.find((c) => c.value === s.default) || { label: s.default }).label
      : s.kind === "secret" ? "" : s.default;
  help.textContent = s.help + (s.kind === "secret" ? "" : ` Predeterminado: ${shownDefault || "vacío"}${shownDefault && s.unit ? " " + s.unit : ""}.`);
  const error = document.createElement("p");
  error.className = "field-error";
  error.id = "error-" + s.name;
  error.setAttribute("role", "alert");
  error.hidden = true;
  row.append(label, control, help, error);
  if (s.changed_here) {
    row.append(button("Volver al predeterminado", async () => {
      await saveSettings({ [s.name]: null });
    }, "link reset"));
  }
  control.querySelectorAll("input, select, textarea").forEach((el) => {
    el.addEventListener("input", () => clearFieldError(s.name));
    el.addEventListener("change", () => clearFieldError(s.name));
  });
  return row;
}

async function saveSettings(values) {
  $("#settings-status").textContent = "Guardando…";
  try {
    await api("/api/settings", {
      method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ values }),
    });
  } catch (err) {
    $("#settings-status").textContent = "";
    if (!(err.field && fieldError(err.field, err.message))) problem(err.message);
    if (err.field) document.getElementById("setting-" + err.field)?.focus();
    return;
  }
  problem("");
  await loadSettings();
  $("#settings-status").textContent = "Guardado. Vale para las llamadas nuevas.";
}

$("#settings-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const values = {};
  let wrong = null;
  for (const s of settingsShown) {
    const input = document.getElementById("setting-" + s.name);
    if (!input) continue;
    const value = fieldValue(input);
    if (value === input.dataset.original) continue;
    const reason = checkField(s, input);
    fieldError(s.name, reason);
    if (reason) { wrong = wrong || input; continue; }
    values[s.name] = value;
  }
  if (wrong) { wrong.focus(); $("#settings-status").textContent = "Revisa los campos marcados."; return; }
  if (!Object.keys(values).length) { $("#settings-status").textContent = "No hay cambios que guardar."; return; }
  await saveSettings(values);
});
