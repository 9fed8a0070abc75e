// ewb console: progressive enhancement only. Every page works without this file;
// with it the draft form previews as it changes and the live warning page refreshes.
"use strict";

function csrfOf(form) {
  const field = form.querySelector('input[name="csrf"]');
  return field ? field.value : "";
}

// Draft form: POST the form as it stands to /console/preview (debounced) and show the
// answer; text fields the drafter has not touched follow the catalog's texts.
function setUpDraft(form) {
  const target = document.getElementById("preview");
  const touched = new Set();
  let timer = null;
  let sequence = 0;
  form.querySelectorAll("input[type=text], textarea").forEach((field) => {
    field.addEventListener("input", () => touched.add(field.name));
  });
  async function refresh() {
    const mine = ++sequence;
    const body = new URLSearchParams(new FormData(form));
    try {
      const response = await fetch(form.dataset.preview, {
        method: "POST",
        body: body,
        headers: { "X-CSRF-Token": csrfOf(form) },
        credentials: "same-origin",
      });
      const html = await response.text();
      if (mine !== sequence) return; // a newer preview is on its way
      target.innerHTML = html;
      const data = document.getElementById("catalog-texts");
      if (data) {
        const texts = JSON.parse(data.textContent);
        for (const [name, text] of Object.entries(texts)) {
          const field = form.elements.namedItem(name);
          if (field && !touched.has(name) && field.value !== text) {
            field.value = text;
          }
        }
      }
      target.dataset.state = "ready";
    } catch (error) {
      target.dataset.state = "failed";
    }
  }
  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  refresh();
}

// Live warning page: fetch the live fragment every few seconds and swap it in.
function setUpLive(box) {
  async function refresh() {
    try {
      const response = await fetch(box.dataset.live, { credentials: "same-origin" });
      if (response.ok) {
        box.innerHTML = await response.text();
        box.dataset.refreshed = String(Date.now());
      }
    } catch (error) {
      // the server is busy or restarting: try again on the next tick
    }
  }
  setInterval(refresh, 2000);
}

document.addEventListener("DOMContentLoaded", () => {
  const draft = document.getElementById("draft");
  if (draft && draft.dataset.preview) setUpDraft(draft);
  const live = document.getElementById("live");
  if (live && live.dataset.live) setUpLive(live);
});
