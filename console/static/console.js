// The anya console's only script: it shows the bus's live events (server-sent events) in the
// table with id "events". Every value is set as text, never as HTML.
"use strict";
(function () {
  const tbody = document.getElementById("events");
  if (!tbody || !window.EventSource) {
    return;
  }
  const status = document.getElementById("events-status");
  const max = Number(tbody.dataset.max) || 50;
  const source = new EventSource(tbody.dataset.stream);
  const say = (text) => {
    if (status) {
      status.textContent = text;
    }
  };
  source.addEventListener("open", () => say("connected"));
  source.addEventListener("error", () => say("reconnecting…"));
  source.addEventListener("bus", (message) => {
    let ev;
    try {
      ev = JSON.parse(message.data);
    } catch (e) {
      return;
    }
    const row = document.createElement("tr");
    row.className = "event";
    row.dataset.topic = String(ev.topic || "");
    const text = (v) => (v === undefined || v === null ? "" : String(v));
    const time = text(ev.time);
    // [shown, full]: the time of day and the whole timestamp, the rest as they come.
    for (const [shown, full] of [[time.slice(11, 23), time], [text(ev.topic)], [text(ev.key)], [text(ev.summary)]]) {
      const cell = document.createElement("td");
      cell.textContent = shown;
      cell.title = full === undefined ? shown : full;
      row.appendChild(cell);
    }
    const empty = document.getElementById("events-empty");
    if (empty) {
      empty.remove();
    }
    tbody.insertBefore(row, tbody.firstChild);
    while (tbody.rows.length > max) {
      tbody.deleteRow(-1);
    }
    if (ev.dropped) {
      say("connected (" + ev.dropped + " events dropped: too many to show)");
    }
  });
})();
