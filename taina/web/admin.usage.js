// Usage and cost: per day or month, what the calls used (tokens, audio minutes, characters) and cost at the
// price table in use (GET /api/usage, GET /api/usage/prices).
"use strict";

const PRICE_LABELS = {
  openai_prompt_per_million: "OpenAI, por millón de tokens de entrada",
  openai_cached_per_million: "OpenAI, por millón de tokens de entrada en caché",
  openai_completion_per_million: "OpenAI, por millón de tokens de salida",
  deepgram_per_minute: "Deepgram, por minuto de audio reconocido",
  elevenlabs_per_thousand_characters: "ElevenLabs, por cada mil caracteres de voz",
};

function sumOf(kind) {
  return Object.values(kind || {}).reduce((total, v) => total + (typeof v === "number" ? v : 0), 0);
}

loaders.usage = async () => {
  const period = $("#usage-period").value;
  const [rows, prices] = await Promise.all([
    json("/api/usage?" + new URLSearchParams({ period, periods: period === "day" ? "31" : "12" })),
    json("/api/usage/prices"),
  ]);
  const body = $("#usage");
  body.replaceChildren();
  showRows("#usage-table", "#usage-empty", rows.length);
  const local = rows.length > 0 && rows.every((r) => r.cost.total === 0 && r.cost.note);
  $("#usage-note").textContent = local
    ? "Coste 0: el reconocimiento de voz, el modelo y la voz corren en esta máquina. Con proveedores de pago configurados, su coste aparece aquí."
    : rows.length ? `Importes en ${prices.currency}, a los precios de abajo; días y meses según la hora de la clínica.` : "";
  for (const r of rows) {
    const row = document.createElement("tr");
    const tokens = Object.values(r.usage.language_model || {}).reduce(
      (t, c) => ({ prompt: t.prompt + c.prompt, cached: t.cached + c.cached, completion: t.completion + c.completion }),
      { prompt: 0, cached: 0, completion: 0 });
    const label = period === "day" ? shortDay(r.period)
      : new Date(r.period + "-01T12:00:00").toLocaleDateString("es-DO", { month: "long", year: "numeric" });
    cell(row, label);
    cell(row, String(r.calls));
    cell(row, String(r.turns));
    cell(row, tokens.prompt ? `${tokens.prompt.toLocaleString("es-DO")} entrada (${tokens.cached.toLocaleString("es-DO")} en caché) · ${tokens.completion.toLocaleString("es-DO")} salida` : "—");
    const heard = sumOf(r.usage.speech_to_text); // seconds
    cell(row, heard < 60 ? `${heard.toLocaleString("es-DO", { maximumFractionDigits: 1 })} s`
      : `${(heard / 60).toLocaleString("es-DO", { maximumFractionDigits: 1 })} min`);
    cell(row, sumOf(r.usage.text_to_speech).toLocaleString("es-DO"));
    cell(row, r.cost.total === 0 && r.cost.note ? "0 (local)" : money(r.cost.total, r.cost.currency));
    body.appendChild(row);
  }
  $("#usage-chart").closest(".card-block").hidden = rows.length === 0 || local; // the note says it all
  const oldestFirst = [...rows].reverse();
  $("#usage-chart").replaceChildren(barChart({
    days: oldestFirst.map((r) => ({ day: period === "day" ? r.period : r.period + "-01", values: { total: r.cost.total } })),
    series: [{ key: "total", label: "Coste", colour: "#0b7a75" }],
    format: (v) => money(v, prices.currency), label: "Coste por periodo", width: $("#usage-chart").clientWidth,
    empty: local ? `Coste ${FREE}.` : "Sin coste en este periodo.",
  }));
  const list = $("#price-list");
  list.replaceChildren();
  for (const [key, label] of Object.entries(PRICE_LABELS)) {
    list.append(element("li", `${label}: ${prices[key].toLocaleString("es-DO", { maximumFractionDigits: 6 })} ${prices.currency}`));
  }
  if (may("admin")) {
    const item = element("li", "Se cambian en ", "note");
    item.append(button("Ajustes → Precios", async () => openTab("settings"), "link"));
    list.append(item);
  }
};

$("#usage-period").addEventListener("change", () => loaders.usage().catch((err) => problem(err.message)));

