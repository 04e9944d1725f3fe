import path from 'node:path';

/**
 * Where `npm run build` puts the viewer's page, script and styles (services/api/dist/public/viewer):
 * the same folder whether the API runs from src (tsx) or from dist, and inside dist so the image
 * carries it with the rest of the API's build.
 */
export const VIEWER_ASSETS_DIR = path.resolve(__dirname, '../../dist/public/viewer');
