import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import { HttpError } from '../http/errors';
import { VIEWER_ASSETS_DIR } from './assets';

/**
 * The viewer at `/viewer/`: public static files (a page, a script, a stylesheet) holding no data,
 * so no key is needed to load them; the page asks for a key and sends it with every /api call.
 * helmet's Content-Security-Policy applies unchanged: the page loads only its own files.
 */
export function viewerRoutes(dir: string = VIEWER_ASSETS_DIR): Router {
  const router = Router();
  router.use(
    '/viewer',
    express.static(dir, {
      index: 'index.html',
      dotfiles: 'ignore',
      // Unhashed file names: revalidated on every load (ETag), so a new build is never half-cached.
      cacheControl: false,
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    }),
  );
  // Reached only when the page is missing (express.static serves it, or redirects /viewer, otherwise).
  router.get(['/viewer', '/viewer/'], (_req, _res, next) => {
    if (existsSync(path.join(dir, 'index.html'))) next();
    else next(new HttpError(404, 'VIEWER_NOT_BUILT', 'The viewer is not built; run "npm run build".'));
  });
  return router;
}
