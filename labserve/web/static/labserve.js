// Small progressive enhancements; every form works without this file.
"use strict";

// below this width the result sits under the form, out of sight after a submit
const NARROW = "(max-width: 800px)";
// the server answers an upload with its upload section alone when asked with this header
const FRAGMENT_HEADER = "X-Labserve-Fragment";

// "typical case" buttons fill the form with the values in their data-fill attribute
function enhanceExampleButtons() {
  for (const button of document.querySelectorAll("button[data-fill]")) {
    button.addEventListener("click", () => {
      const values = JSON.parse(button.dataset.fill);
      const form = button.closest("form");
      for (const [name, value] of Object.entries(values)) {
        const input = form.querySelector(`[name="${name}"]`);
        if (input) input.value = String(value);
      }
    });
  }
}

// after a submit: an error summary takes the focus; else, on a phone, the fresh result does
function focusAfterSubmit() {
  const summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    return;
  }
  const fresh = document.querySelector("[data-fresh-result]");
  if (fresh && window.matchMedia(NARROW).matches) {
    fresh.focus();
    fresh.scrollIntoView({ block: "start" });
  }
}

// a link in an error summary moves the focus to its field (the label stays in view)
function enhanceErrorSummaryLinks() {
  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-error-summary] a[href^='#']");
    if (!link) return;
    const field = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!field) return;
    event.preventDefault();
    const label = document.querySelector(`label[for="${field.id}"]`) || field;
    label.scrollIntoView({ block: "center" });
    field.focus({ preventScroll: true });
  });
}

// the upload form posts with fetch and swaps in the server's new upload section, so the
// page stays where it is and the chosen file stays chosen
function enhanceUploadForm(form) {
  const section = form.closest("section");
  const input = form.querySelector("input[type=file]");
  const button = form.querySelector("button[type=submit]");
  const status = section.querySelector("[role=status]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    button.disabled = true;
    section.setAttribute("aria-busy", "true");
    status.textContent = input.files.length ? `Scoring ${input.files[0].name}…` : "";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { [FRAGMENT_HEADER]: "batch" },
      });
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      if (fresh.getElementById(section.id)) {
        swapIn(fresh, section, input);
      } else {
        // not the upload section: an error page (model not ready, server fault)
        const said = fresh.querySelector(".lead, .notice");
        showProblem(section, input, `The server answered ${response.status}: ${said ? said.textContent.trim() : response.statusText}`);
      }
    } catch (error) {
      showProblem(section, input, `The file could not be sent (${error.message}); check the connection and try again.`);
    } finally {
      button.disabled = false;
      section.removeAttribute("aria-busy");
      status.textContent = "";
    }
    const summary = section.querySelector("[data-error-summary]");
    (summary || section.querySelector("[data-fresh-result]") || section).focus();
  });
}

function swapIn(fresh, section, input) {
  for (const part of fresh.querySelectorAll(`#${section.id} [data-swap]`)) {
    const live = document.getElementById(part.id);
    if (live) live.replaceWith(document.adoptNode(part));
  }
  const invalid = fresh.getElementById(input.id).getAttribute("aria-invalid") === "true";
  markInvalid(input, invalid);
}

function showProblem(section, input, message) {
  const summary = section.querySelector("#batch-problem-template").content.cloneNode(true);
  summary.querySelector("li a").textContent = message;
  const errors = section.querySelector("#batch-errors");
  errors.replaceChildren(summary);
  const outcome = section.querySelector("#batch-outcome");
  outcome.replaceChildren();
  outcome.classList.remove("filled");
  markInvalid(input, true);
}

function markInvalid(input, invalid) {
  if (invalid) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  input.closest(".field").classList.toggle("has-error", invalid);
}

document.addEventListener("DOMContentLoaded", () => {
  enhanceExampleButtons();
  enhanceErrorSummaryLinks();
  for (const form of document.querySelectorAll("form[data-upload-form]")) enhanceUploadForm(form);
  focusAfterSubmit();
  document.documentElement.dataset.enhanced = "true";  // lets browser tests wait for this
});
