import path from 'node:path';
import { Router } from 'express';
import { getAbsoluteFSPath } from 'swagger-ui-dist';
import { openApiDocument } from './document';

/** The reference page: Swagger UI's assets from the swagger-ui-dist package, never a CDN. */
const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Activity Logger API</title>
    <link rel="stylesheet" href="/api/docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/api/docs/swagger-ui-bundle.js"></script>
    <script src="/api/docs/init.js"></script>
  </body>
</html>
`;

// A file, not an inline script, so helmet's Content-Security-Policy (script-src 'self') holds.
const INIT = `window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#swagger-ui', deepLinking: true });\n`;

/** Public: `/api/openapi.json` and `/api/docs` describe the API and hold no data. */
export function apiReferenceRoutes(): Router {
  const document = JSON.stringify(openApiDocument());
  const router = Router();
  router.get('/api/openapi.json', (_req, res) => {
    res.type('application/json').send(document);
  });
  router.get('/api/docs', (_req, res) => {
    res.type('html').send(PAGE);
  });
  router.get('/api/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(INIT);
  });
  // Only the two assets the page loads; the package's other files (a demo page, its manifest) are not served.
  const assets = path.resolve(getAbsoluteFSPath());
  for (const [file, type] of [
    ['swagger-ui.css', 'text/css'],
    ['swagger-ui-bundle.js', 'application/javascript'],
  ] as const) {
    router.get(`/api/docs/${file}`, (_req, res, next) => {
      res.type(type).sendFile(path.join(assets, file), (error) => {
        if (error !== undefined) next(error);
      });
    });
  }
  return router;
}
