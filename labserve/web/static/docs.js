// Renders the OpenAPI document with the vendored Swagger UI (no inline script: the page's
// Content-Security-Policy forbids it). The document's URL comes from the page.
document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    deepLinking: true,
    layout: "BaseLayout",
    validatorUrl: null, // never send the document to validator.swagger.io
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    onComplete: () => {
      document.documentElement.dataset.docsReady = "true"; // lets browser tests wait for this
    },
  });
});
