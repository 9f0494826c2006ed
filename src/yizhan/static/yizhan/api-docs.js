/* /api/v1/docs: start the vendored Swagger UI (no inline script, no CDN). The page's
 * session cookie authenticates "Try it out"; unsafe methods carry the CSRF token. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("swagger-settings").textContent);
  var token = document.body.getAttribute("data-csrf-token");
  cfg.dom_id = "#swagger-ui";
  cfg.presets = [window.SwaggerUIBundle.presets.apis];
  cfg.requestInterceptor = function (req) {
    if (token) req.headers["X-CSRFToken"] = token;
    return req;
  };
  window.ui = window.SwaggerUIBundle(cfg);
})();
