// The console's only script: keeps countdowns and "since" times ticking, refreshes the parts of
// a page marked data-live, and reveals one blurred preview at a time on a deliberate click.
// Every page works without it.
"use strict";

function span(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const pad = (n) => String(n).padStart(2, "0");
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + pad(s % 60) + " s";
  if (s < 86400) return Math.floor(s / 3600) + " h " + pad(Math.floor((s % 3600) / 60)) + " min";
  return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
}

const french = document.documentElement.lang === "fr";

function tick() {
  const now = Date.now();
  for (const t of document.querySelectorAll("time.countdown")) {
    const left = Number(t.dataset.ms) - now;
    t.textContent = left > 0
      ? span(left) + (french ? " restantes" : " left")
      : (french ? "en retard de " : "overdue by ") + span(-left);
    t.classList.toggle("overdue", left <= 0);
  }
  for (const t of document.querySelectorAll("time.since")) {
    t.textContent = span(now - Number(t.dataset.ms)) + (french ? " écoulées" : " ago");
  }
}

async function refresh() {
  const live = document.querySelectorAll("[data-live]");
  if (live.length === 0 || document.hidden) return;
  // Not while someone is typing in a form of the page.
  if (document.activeElement && document.activeElement.matches("input, textarea, select")) return;
  try {
    const response = await fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html").querySelectorAll("[data-live]");
    live.forEach((part, i) => { if (fresh[i]) part.innerHTML = fresh[i].innerHTML; });
    tick();
  } catch (_) { /* the next round tries again */ }
}

function reveal(button) {
  const figure = button.closest("[data-preview]");
  const show = !figure.classList.contains("revealed");
  for (const other of document.querySelectorAll("[data-preview].revealed")) {
    other.classList.remove("revealed");
    other.querySelector("button.reveal").setAttribute("aria-pressed", "false");
    other.querySelector("button.reveal").textContent = french ? "Afficher" : "Reveal";
  }
  figure.classList.toggle("revealed", show);
  button.setAttribute("aria-pressed", String(show));
  button.textContent = show ? (french ? "Masquer" : "Hide") : (french ? "Afficher" : "Reveal");
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button.reveal");
  if (button) reveal(button);
});

tick();
setInterval(tick, 1000);
const seconds = Number((document.querySelector("[data-live]") || { dataset: {} }).dataset.live || 0);
if (seconds > 0) setInterval(refresh, seconds * 1000);
