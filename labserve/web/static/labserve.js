// Small progressive enhancements; every form works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // "typical case" buttons fill the form with the values in their data-fill attribute
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
  document.documentElement.dataset.enhanced = "true";  // lets browser tests wait for this
});
