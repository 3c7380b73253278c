/* The API's own page (/docs): Swagger UI, vendored, over this node's /openapi.json.
   A file rather than an inline script, so the page's CSP can forbid inline scripts. */
"use strict";

window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    /* Not kept in localStorage: the token typed into "Authorize" lives only in this tab. */
    persistAuthorization: false,
    /* No call to validator.swagger.io with our document. */
    validatorUrl: null,
  });
});
