/**
 * A host service that embeds carechat: its own Hono app with its own routes, carechat mounted under
 * /support, a subscriber to chat.ended, and the platform emulator in the same process standing in for the
 * tenant (point the configuration at a real tenant instead and drop the emulator).
 *
 *   npx tsc && node dist/host.js     (prints `host ready: http://127.0.0.1:<port>`)
 */
import { serve } from '@hono/node-server';
import { createOrchestrator, customerPageRoutes, loadConfig } from 'carechat';
import { DEMO_TENANT, startEmulator } from 'carechat/emulator';
import { Hono } from 'hono';

const emulator = await startEmulator({ port: 0 });

const host = new Hono();
host.get('/', (c) => c.text('Our shop. Questions? Chat with us at /support/'));

// Listen first, so that carechat's public URL (where the platform sends callbacks) is known.
const server = serve({ fetch: host.fetch, port: Number(process.env.PORT ?? 0), hostname: '127.0.0.1' });
await new Promise<void>((resolve) => server.once('listening', () => resolve()));
const address = server.address();
const port = typeof address === 'object' && address ? address.port : 0;
const publicUrl = `http://127.0.0.1:${port}/support`;

const config = loadConfig(
  { ...process.env, SA_PUBLIC_URL: publicUrl, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  { emulatorUrl: emulator.url },
);
const chat = createOrchestrator(config, { extraRoutes: customerPageRoutes({ basePath: '/support' }) });
chat.on('chat.ended', (event) => {
  const { sessionId, outcome, agents, transcript } = event.data;
  console.log(
    `chat ended: ${sessionId} ${outcome} agents=${agents.map((a) => a.name).join(',')} messages=${transcript.filter((e) => e.kind === 'message').length}`,
  );
});
host.route('/support', chat.app);
await chat.start();
emulator.emulator.setCallbackUrl(DEMO_TENANT.applicationId, `${publicUrl}${config.callbackPath}`);

console.log(`host ready: http://127.0.0.1:${port} support=${publicUrl} emulator=${emulator.url}`);

const stop = async () => {
  await chat.stop();
  server.close();
  await emulator.close();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
