// ferry portal: live updates without a framework. The server pushes; this
// file only listens (EventSource) and swaps in fragments it renders.
"use strict";

// refreshAll fetches every [data-refresh] element's fragment again.
async function refreshAll() {
  for (const el of document.querySelectorAll("[data-refresh]")) {
    try {
      const res = await fetch(el.dataset.refresh, { credentials: "same-origin", cache: "no-store" });
      if (!res.ok) continue;
      const html = await res.text();
      const keep = pickedRuns();
      el.innerHTML = html;
      restorePicks(keep);
    } catch (e) {
      // The server went away; the event stream reconnects by itself.
    }
  }
  document.dispatchEvent(new Event("ferry:refreshed"));
}

// listenForChanges refreshes the page's fragments each time the run
// history changes.
function listenForChanges() {
  if (!document.querySelector("[data-refresh]")) return;
  const es = new EventSource("/events");
  let seen = null;
  es.addEventListener("hello", (e) => {
    if (seen !== null && e.data !== seen) refreshAll(); // missed changes while away
    seen = e.data;
  });
  es.addEventListener("change", (e) => {
    seen = e.data;
    refreshAll();
  });
}

// followLog appends the run's log as the server pushes it.
function followLog() {
  const pre = document.getElementById("log");
  if (!pre) return;
  const state = document.getElementById("log-state");
  const es = new EventSource(pre.dataset.stream);
  const setState = (text, cls) => { state.textContent = text; state.className = cls || "note"; };
  es.addEventListener("open", () => setState("streaming", "note live"));
  es.addEventListener("skipped", (e) => {
    pre.append("[… the first " + Number(e.data).toLocaleString() + " bytes are left out: see the whole log …]\n");
  });
  es.addEventListener("log", (e) => {
    const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 40;
    pre.append(JSON.parse(e.data));
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  });
  es.addEventListener("end", (e) => {
    es.close();
    const r = JSON.parse(e.data);
    setState("ended: " + r.status + (r.exit_code !== null && r.exit_code !== undefined ? " (exit " + r.exit_code + ")" : ""));
    refreshAll();
  });
  es.addEventListener("failure", (e) => {
    es.close();
    setState("cannot stream the log: " + JSON.parse(e.data), "error");
  });
}

// The runs table: remember ticked runs across refreshes, and enable
// "Compare" for 2 to 10 of them.
function pickedRuns() {
  return new Set([...document.querySelectorAll("input[name=run]:checked")].map((c) => c.value));
}

function restorePicks(keep) {
  for (const c of document.querySelectorAll("input[name=run]")) c.checked = keep.has(c.value);
  updateCompare();
}

function updateCompare() {
  const btn = document.getElementById("compare-btn");
  if (!btn) return;
  const n = pickedRuns().size;
  btn.disabled = n < 2 || n > 10;
  btn.textContent = n ? "Compare " + n + " runs" : "Compare selected";
}

function setupRunsTable() {
  document.addEventListener("change", (e) => {
    if (e.target.matches("input[name=run]")) updateCompare();
    if (e.target.closest("form.filters")) e.target.form.submit();
  });
}

// Snapshot file lists load when opened.
function setupLazyDetails() {
  for (const d of document.querySelectorAll("details[data-load]")) {
    d.addEventListener("toggle", async () => {
      if (!d.open || d.dataset.loaded) return;
      d.dataset.loaded = "1";
      const box = d.querySelector(".loaded");
      try {
        const res = await fetch(d.dataset.load, { credentials: "same-origin" });
        box.outerHTML = await res.text();
      } catch (e) {
        box.textContent = "cannot load: " + e;
      }
    });
  }
}

// Buttons in forms show they are working (checks can take seconds).
function setupBusyButtons() {
  document.addEventListener("submit", (e) => {
    const b = e.target.querySelector("button[type=submit]");
    if (b && e.target.method === "post") {
      b.classList.add("busy");
      setTimeout(() => { b.disabled = true; }, 0);
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  listenForChanges();
  followLog();
  setupRunsTable();
  setupLazyDetails();
  setupBusyButtons();
  updateCompare();
});
