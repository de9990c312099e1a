// Starts Swagger UI on /api/docs with the app's own /openapi.json (a file, not inline: CSP).
// "Try it out" as the logged-in browser sends the page's CSRF token, as the app's pages do.
const root = document.getElementById("swagger-ui");
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
window.SwaggerUIBundle({
  url: root.dataset.specUrl,
  domNode: root,
  deepLinking: true,
  withCredentials: true,
  requestInterceptor: (request) => {
    request.headers["X-CSRFToken"] = csrfToken;
    return request;
  },
});
