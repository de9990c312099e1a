/* Light or dark: the system's preference, unless the user chose with the toggle (remembered).
 *
 * A classic script loaded in <head>, so the saved choice is on <html data-theme> before the
 * first paint (no flash of the other theme). app.css follows `prefers-color-scheme` when
 * `data-theme` is absent, and `data-theme` when it is set.
 */
(function () {
  const KEY = "theme";
  const root = document.documentElement;
  const saved = localStorage.getItem(KEY);
  if (saved === "light" || saved === "dark") root.dataset.theme = saved;

  const current = () => root.dataset.theme
    || (window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");

  function label(button) {
    const dark = current() === "dark";
    button.setAttribute("aria-pressed", String(dark)); // pressed: dark mode is on
  }

  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("theme-toggle");
    if (!button) return;
    label(button);
    button.addEventListener("click", () => {
      root.dataset.theme = current() === "dark" ? "light" : "dark";
      localStorage.setItem(KEY, root.dataset.theme);
      label(button);
    });
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => label(button));
  });
})();
