/**
 * The ceiling for the API's HTTP path: an Express app with one route that does nothing but
 * answer 202 with a body of the same shape, on the same HTTP server settings the API uses by
 * default. Driven by the same client and connections as POST /api/logs.
 */
import { createServer } from 'node:http';
import express from 'express';

const port = Number(process.env.PORT ?? '0');
const app = express();
app.disable('x-powered-by');
app.post('/api/logs', (_req, res) => {
  res.status(202).json({ status: 'Logged', traceId: 'noop', eventId: 'noop', message: 'Event queued successfully' });
});
const server = createServer(app);
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
