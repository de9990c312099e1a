// Starts Swagger UI on /api/docs with the app's own /openapi.json (a file, not inline: CSP).
const root = document.getElementById("swagger-ui");
window.SwaggerUIBundle({
  url: root.dataset.specUrl,
  domNode: root,
  deepLinking: true,
  withCredentials: true,
});
