import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createApp } from '../app';
import { generateApiKey } from '../auth/api-keys';
import { fakeAppDeps } from '../fake-app';

/** The viewer's files: public, under the API's CSP, and a clear answer when they are not built. */
describe('viewer routes', () => {
  let built: string;

  beforeAll(async () => {
    built = await mkdtemp(path.join(tmpdir(), 'viewer-assets-'));
    await writeFile(path.join(built, 'index.html'), '<!doctype html><title>viewer</title>');
    await writeFile(path.join(built, 'viewer.js'), 'void 0;');
  });
  afterAll(() => rm(built, { recursive: true, force: true }));

  function app(viewerDir: string) {
    return createApp(fakeAppDeps({ value: generateApiKey(), scopes: ['read'] }, { viewerDir }));
  }

  it('serves the page and its script without a key, revalidated on every load, under a self-only CSP', async () => {
    const page = await request(app(built)).get('/viewer/');
    expect(page.status).toBe(200);
    expect(page.type).toBe('text/html');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const script = await request(app(built)).get('/viewer/viewer.js');
    expect(script.status).toBe(200);
    expect(script.type).toBe('text/javascript');
  });

  it("sends /viewer to /viewer/, so the page's relative links resolve", async () => {
    const res = await request(app(built)).get('/viewer');
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('/viewer/');
  });

  it("answers a missing file with the API's 404, and a missing build by saying how to build it", async () => {
    const missingFile = await request(app(built)).get('/viewer/nothing.js');
    expect(missingFile.status).toBe(404);
    expect(missingFile.body.error.code).toBe('NOT_FOUND');
    const notBuilt = await request(app(path.join(built, 'absent'))).get('/viewer/');
    expect(notBuilt.status).toBe(404);
    expect(notBuilt.body.error).toMatchObject({
      code: 'VIEWER_NOT_BUILT',
      message: expect.stringContaining('npm run build'),
    });
  });
});
