// ketenbus monitor: refreshes the parts of a page marked data-refresh and
// follows the Live stream. Everything it shows was rendered or sent by
// the monitor; text is set with textContent, never as HTML from events.
"use strict";

function refresh(el) {
  const url = el.dataset.refresh;
  const every = parseInt(el.dataset.every || "3000", 10);
  let busy = false;
  setInterval(async () => {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const res = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (res.ok) el.innerHTML = await res.text();
    } catch (e) {
      // the next tick tries again
    } finally {
      busy = false;
    }
  }, every);
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text || "";
  if (cls) td.className = cls;
  return td;
}

function live(table) {
  const body = table.tBodies[0];
  const state = document.getElementById("live-state");
  let since = table.dataset.since || "0";
  let source;
  const connect = () => {
    source = new EventSource(table.dataset.stream + "&since=" + encodeURIComponent(since));
    source.onopen = () => { if (state) state.textContent = "live"; };
    source.onerror = () => { if (state) state.textContent = "verbinding verbroken, opnieuw verbinden…"; };
    source.addEventListener("ketenbus", (msg) => {
      const e = JSON.parse(msg.data);
      since = String(e.seq);
      const tr = document.createElement("tr");
      tr.dataset.seq = e.seq;
      tr.className = "new";
      tr.append(cell(e.time), cell(e.type), cell(e.partner), cell(e.ontvanger), cell(e.persoon, "mono"), cell(String(e.seq), "n"));
      body.prepend(tr);
      while (body.rows.length > 200) body.deleteRow(body.rows.length - 1);
    });
  };
  connect();
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-refresh]").forEach(refresh);
  const t = document.getElementById("live");
  if (t) live(t);
});
