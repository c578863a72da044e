/**
 * Preloaded (`node --import`) into each child process `carechat bench` starts, and only there: it changes
 * nothing in the program it rides along with. Plain JavaScript so that it loads before any TypeScript
 * loader. It answers the bench over the IPC channel with the process's own accounting:
 *
 *   - CPU time (process.cpuUsage) and memory (process.memoryUsage);
 *   - HTTP requests served (node:http's diagnostics channels) and made (undici's and node:http's);
 *   - the time from request start to response finish of every request to one path (the callback route),
 *     drained at each sample;
 *   - whether the server is idle (no request in flight) and for how long.
 *
 * When the channel closes (the bench is done with it, or died) the process stops itself with SIGTERM.
 * Without an IPC channel (any normal run) it does nothing.
 */
import diagnostics from 'node:diagnostics_channel';

if (typeof process.send === 'function') {
  let timedPath;
  let served = 0;
  let fetched = 0;
  let inflight = 0;
  let lastActivity = performance.now();
  let timings = [];
  const started = new WeakMap();

  const timed = (url) => timedPath !== undefined && (url === timedPath || url?.startsWith(`${timedPath}?`));

  diagnostics.subscribe('http.server.request.start', ({ request, response }) => {
    served += 1;
    inflight += 1;
    lastActivity = performance.now();
    if (timed(request.url)) started.set(response, lastActivity);
  });
  diagnostics.subscribe('http.server.response.finish', ({ response }) => {
    inflight = Math.max(0, inflight - 1);
    lastActivity = performance.now();
    const start = started.get(response);
    if (start !== undefined) {
      started.delete(response);
      timings.push(lastActivity - start);
    }
  });
  diagnostics.subscribe('undici:request:create', () => {
    fetched += 1;
  });
  diagnostics.subscribe('http.client.request.start', () => {
    fetched += 1;
  });

  process.on('message', (message) => {
    if (message?.type !== 'carechat-bench') return;
    if (typeof message.timePath === 'string') timedPath = message.timePath;
    // With --expose-gc, `gc: true` collects first, so heapUsed is what is really held.
    if (message.gc === true && typeof globalThis.gc === 'function') globalThis.gc();
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const drained = timings;
    timings = [];
    process.send({
      type: 'carechat-bench',
      id: message.id,
      cpuUs: cpu.user + cpu.system,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      served,
      fetched,
      inflight,
      idleMs: inflight > 0 ? 0 : performance.now() - lastActivity,
      timings: drained,
    });
  });
  // The bench stops a child by closing the channel (or by exiting): the child then gets the SIGTERM a
  // user would send, so it shuts down as usual (and writes its CPU profile), and is never left behind.
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  // The channel itself must not keep the process alive.
  process.channel?.unref();
}
