// The overview, the dashboard's first page: calls today and this week and how they ended, a chart of calls
// per day, of the time to the first audio, and of cost per day, the providers and services and how they are
// doing, and the last backup (GET /api/overview).
"use strict";

const FREE = "0 — todo corre en esta máquina";

loaders.overview = async () => {
  const o = await json("/api/overview");
  const cost = o.cost;
  const free = (c) => c.total === 0 && c.note;
  const cards = [
    ["Llamadas hoy", String(o.calls.today), `${o.calls.outcomes_today.booked} con cita reservada`],
    ["Esta semana", String(o.calls.week), "desde el lunes"],
    ["En curso", String(o.in_progress), `de ${o.capacity} a la vez`],
    ["Primer audio (semana)", ms(o.latency.week.p50_ms), o.latency.week.turns ? `mediana · p95 ${ms(o.latency.week.p95_ms)}` : "sin turnos aún"],
    ["Coste hoy", free(cost.today) ? "0" : money(cost.today.total, cost.currency), free(cost.today) ? "todo corre en esta máquina" : "según la tabla de precios"],
    ["Coste del mes", free(cost.month) ? "0" : money(cost.month.total, cost.currency), free(cost.month) ? "todo corre en esta máquina" : "desde el día 1"],
  ];
  $("#overview-cards").replaceChildren(...cards.map(([title, value, hint]) => {
    const card = element("div", undefined, "card");
    card.append(element("span", title, "card-title"), element("strong", value, "card-value"), element("span", hint, "card-hint"));
    return card;
  }));

  const outcomes = $("#outcomes");
  outcomes.replaceChildren();
  const head = outcomes.createTHead().insertRow();
  for (const text of ["", "Hoy", "Semana"]) head.append(element("th", text));
  const bodyRows = outcomes.createTBody();
  for (const key of ["answered", "booked", "handed_off", "failed", "silent"]) {
    const row = bodyRows.insertRow();
    const name = element("td");
    const dot = element("i", undefined, "dot");
    dot.style.background = OUTCOME_COLOURS[key];
    name.append(dot, OUTCOMES[key]);
    row.append(name, element("td", String(o.calls.outcomes_today[key])), element("td", String(o.calls.outcomes_week[key])));
  }

  const noCalls = "Aún no hay llamadas. Para hacer la primera, abre la página de voz (/) y pulsa «Hablar».";
  $("#calls-chart").replaceChildren(barChart({
    days: o.calls.per_day.map((d) => ({ day: d.day, values: d })),
    series: ["answered", "booked", "handed_off", "failed", "silent"].map((k) => ({ key: k, label: OUTCOMES[k], colour: OUTCOME_COLOURS[k] })),
    format: (v) => String(v), label: "Llamadas por día de los últimos 14 días", empty: noCalls, whole: true,
    width: $("#calls-chart").clientWidth,
  }));
  $("#latency-chart").replaceChildren(lineChart({
    points: o.latency.recent.map((p) => ({ at: new Date(p.at), value: p.ms, note: `${when(p.at)}: ${ms(p.ms)}` })),
    format: (v) => v.toLocaleString("es-DO") + " ms",
    reference: o.latency.week.p95_ms === null ? null : { value: o.latency.week.p95_ms, label: `p95 de la semana: ${ms(o.latency.week.p95_ms)}` },
    label: "Tiempo hasta el primer audio en los últimos turnos", width: $("#latency-chart").clientWidth,
    empty: "Sin turnos todavía: la gráfica aparece con la primera respuesta de la asistente.",
  }));
  const costEmpty = free(cost.month) || o.calls.week === 0
    ? `Coste ${FREE}: el reconocimiento, el modelo y la voz son locales. Con proveedores de pago, aquí se ve su coste por día.`
    : "Sin coste en estos días.";
  $("#cost-chart").replaceChildren(barChart({
    days: cost.per_day.map((d) => ({ day: d.day, values: { total: d.total } })),
    series: [{ key: "total", label: "Coste", colour: "#0b7a75" }],
    format: (v) => money(v, cost.currency), label: "Coste por día de los últimos 14 días", empty: costEmpty,
    width: $("#cost-chart").clientWidth,
  }));

  const health = $("#providers-health");
  health.replaceChildren();
  for (const p of o.providers) {
    const item = element("li", undefined, p.status === "ok" ? "ok" : "warn");
    const detail = p.local ? "local, sin coste" : p.fallback ? `con ${p.fallback} de respaldo` : "en la nube";
    const state = p.failovers ? `${p.failovers} ${p.failovers === 1 ? "vez pasó" : "veces pasó"} al respaldo desde que arrancó el servidor` : "funciona";
    item.append(element("strong", PORTS[p.port] + ": "), `${p.name} (${detail}) · ${state}`);
    health.append(item);
  }
  for (const [name, label] of [["database", "Base de datos"], ["object_store", "Almacén de documentos y grabaciones"]]) {
    if (!(name in o.dependencies)) continue;
    const up = o.dependencies[name];
    const item = element("li", undefined, up ? "ok" : "bad");
    item.append(element("strong", label + ": "), up ? "responde" : "no responde: revisa el servidor");
    health.append(item);
  }

  showBackup(o.backup, o.backup_schedule);
};

function showBackup(last, schedule) {
  // last: the daily job's last result (audit log); schedule.newest: the newest backup in the destination,
  // however it was taken (the daily job or `taina backup create`).
  const box = $("#backup-state");
  box.replaceChildren();
  const daily = schedule.daily
    ? `Se hace una cada día a las ${schedule.at} mientras el servidor funciona; se guardan las ${schedule.keep} últimas.`
    : "La copia diaria está desactivada (TAINA_BACKUP_DAILY=false).";
  const newest = schedule.newest;
  if (!last && !newest) {
    box.className = "empty";
    box.append(element("h4", "Aún no hay copias de seguridad"));
    const what = element("p", daily + " Para hacer una ahora, en el servidor: ");
    what.append(element("code", "taina backup create"), "; para comprobar que se puede restaurar: ",
      element("code", "taina backup verify"), ".");
    box.append(what);
    if (schedule.error) box.append(element("p", "No se pudo leer el destino de las copias: " + schedule.error, "field-error"));
    return;
  }
  const failedLast = last && last.result !== "success" && (!newest || new Date(last.at) >= new Date(newest.at));
  box.className = failedLast ? "backup bad" : "backup ok";
  if (failedLast) {
    box.append(element("p", `La última copia falló (${when(last.at)}): ${last.error || "sin detalle"}`, "backup-head"));
    const good = newest || last.last_success;
    box.append(element("p", good ? `La última correcta es del ${when(good.at)}.` : "No hay ninguna copia correcta."));
  } else if (newest) {
    const size = newest.database_bytes === undefined ? ""
      : ` · ${bytes(newest.database_bytes + newest.objects_bytes)} (base de datos ${bytes(newest.database_bytes)}, ${newest.objects} ${newest.objects === 1 ? "archivo" : "archivos"} ${bytes(newest.objects_bytes)})`;
    box.append(element("p", `Última copia: ${when(newest.at)} · correcta${size}`, "backup-head"));
    if (last && last.result === "success" && last.at >= newest.at) {
      box.append(element("p", `Añadió ${bytes(last.added_bytes)} al destino y tardó ${last.seconds} s.`));
    }
  } else {
    box.append(element("p", `Última copia: ${when(last.at)} · correcta · añadió ${bytes(last.added_bytes)}`, "backup-head"));
  }
  const kept = newest ? ` Hay ${newest.count} ${newest.count === 1 ? "copia" : "copias"} en el destino.` : "";
  box.append(element("p", `Destino: ${schedule.destination}.${kept} ${daily}`, "note"));
  if (schedule.error) box.append(element("p", "Aviso: " + schedule.error, "field-error"));
}
