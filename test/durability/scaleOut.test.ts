/**
 * Several SA instances on one PostgreSQL behind a round-robin proxy (both `/chat/token` and `/callbacks`
 * spread across them): a callback that reaches an instance that does not hold its chat is recorded in the
 * chat's inbox for the owner; when an instance is killed, the others take its chats over once its leases
 * expire (LEASE_MS) and finish them; agent capacity is decided in the database. Every chat ends terminated,
 * every customer gets the agent's answers, no agent is ever above capacity (seen from the platform), no
 * offer is made twice, and nothing is left open on the platform.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchChild } from '../../src/bench/processes.ts';
import { control } from '../../src/bench/stack.ts';
import { DEMO_TENANT } from '../../src/config/tenant.ts';
import type { TranscriptEntry } from '../../src/runtime/sessions.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorFetch } from '../helpers/operator.ts';
import { findTestPostgres, missingPostgresPolicy } from '../helpers/postgres.ts';
import { allSessions, chat, runChats, saProcess, startEmulatorProcess } from './processes.ts';
import { startRoundRobinProxy } from './proxy.ts';

const INSTANCES = 3;
const CHATS = Number(process.env.SCALE_CHATS ?? 300);
const CONCURRENCY = 15;
/** Per agent: 3 demo agents × 4 < 15 customers at once, so the shared capacity is what holds chats back. */
const CAPACITY = 4;
const dir = mkdtempSync(join(tmpdir(), 'carechat-scale-'));
const found = await findTestPostgres();
afterAll(async () => {
  if ('dropAll' in found) await found.dropAll();
  if (process.env.CRASH_KEEP) console.warn(`scale-out test: logs kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
});

describe('several SA instances on one PostgreSQL', () => {
  if ('unavailable' in found) {
    const policy = missingPostgresPolicy(found.unavailable);
    if (policy.fail) {
      it('PostgreSQL server', () => {
        throw new Error(policy.message);
      });
    } else it.skip(`scale-out (${policy.message})`, () => {});
    return;
  }
  const server = found;

  it(`${INSTANCES} instances behind a round-robin proxy, ${CHATS} chats, one instance killed midway`, async () => {
    const databaseUrl = await server.createDatabase();
    const emulator = await startEmulatorProcess(dir);
    const instances: Array<{ url: string; child: BenchChild }> = [];
    const targets: string[] = [];
    const proxy = await startRoundRobinProxy(targets);
    let collector: ReturnType<typeof setInterval> | undefined;
    try {
      for (let i = 1; i <= INSTANCES; i++) {
        const own = join(dir, `sa-${i}`);
        mkdirSync(own);
        const stack = await saProcess(own, emulator, {
          DATABASE_URL: databaseUrl,
          INSTANCE_ID: `sa-${i}`,
          LEASE_MS: '3000',
          AGENT_CAPACITY: String(CAPACITY),
          LOG_LEVEL: 'info',
          // Customers' pages come from the proxy's origin.
          CHAT_ALLOWED_ORIGINS: proxy.url,
        });
        instances.push({ url: stack.url, child: await stack.start() });
      }
      targets.push(...instances.map((i) => i.url));
      // What the platform did, collected as the test goes (its request log is bounded).
      const requests: Array<{ operationId?: string; status: number; replayed?: true; seq: number }> = [];
      let seen = 0;
      const collect = async () => {
        const { entries } = (await control(
          emulator.url,
          'GET',
          `/control/log?kind=request&since=${seen}`,
        )) as {
          entries: typeof requests;
        };
        // Reads may overlap (both get the same entries): each entry is taken once.
        for (const entry of entries) {
          if (entry.seq <= seen) continue;
          seen = entry.seq;
          requests.push(entry);
        }
      };
      collector = setInterval(() => void collect().catch(() => undefined), 500);
      // The platform calls back through the proxy, as it would through a load balancer.
      await control(emulator.url, 'PUT', `/control/applications/${DEMO_TENANT.applicationId}/callback`, {
        url: `${proxy.url}/callbacks`,
      });
      const saUrl = proxy.url;
      let started = 0;
      const killed = instances[1]!;
      // Midway, the instance is killed while it holds chats (its /healthz counts its live ones).
      const killing = async () => {
        for (;;) {
          const health = (await (await fetch(`${killed.url}/healthz`)).json()) as { sessions: number };
          if (health.sessions >= 2) break;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        await killed.child.kill();
      };
      let kill: Promise<void> | undefined;
      const customers = runChats(CHATS, CONCURRENCY, async (n) => {
        started += 1;
        if (started === Math.floor(CHATS / 2)) kill = killing();
        return chat(saUrl, `Scale Customer ${n}`, { waitMs: 60_000 });
      });
      const outcomes = await customers;
      await kill;
      expect(outcomes.filter((o) => o.error).map((o) => `${o.name}: ${o.error}`)).toEqual([]);

      const rows = await eventually(
        () => allSessions(saUrl),
        (list) => {
          const open = list.filter((s) => s.state !== 'terminated').map((s) => `${s.id}:${s.state}`);
          expect(open).toEqual([]);
        },
        { timeout: 60_000, interval: 500 },
      );
      // One session per customer: no chat started twice, none lost.
      expect(rows.map((r) => r.customer.name).sort()).toEqual(outcomes.map((o) => o.name).sort());
      // Agents answer at once here: a customer may be done and gone before the meeting's news of the agent
      // joining reached the SA (another conversation's callbacks), which ends the chat `abandoned`.
      expect(
        rows
          .filter((r) => !['completed', 'abandoned'].includes(r.outcome ?? ''))
          .map((r) => `${r.id}:${r.outcome}`),
      ).toEqual([]);
      // No cross-talk: a chat's transcript holds its own customer's messages only.
      for (const row of rows) {
        const response = await operatorFetch(`${saUrl}/sessions/${row.id}/transcript`);
        expect(response.status).toBe(200);
        const { entries } = (await response.json()) as { entries: TranscriptEntry[] };
        const strangers = entries.filter(
          (e) =>
            e.kind === 'message' &&
            e.direction === 'Incoming' &&
            e.from?.startsWith('Scale Customer') &&
            e.from !== row.customer.name,
        );
        expect(strangers, row.customer.name).toEqual([]);
      }
      const abandoned = rows.filter((r) => r.outcome === 'abandoned').length;
      console.info(
        `scale-out: ${rows.length} chats, ${rows.length - abandoned} completed, ${abandoned} abandoned`,
      );
      const stats = (await control(emulator.url, 'GET', '/control/stats')) as Record<string, number>;
      expect(stats.openMeetings).toBe(0);
      expect(stats.openConversations).toBe(0);
      // No agent was ever in more meetings at once than its capacity, seen from the platform.
      const { agents } = (await control(emulator.url, 'GET', '/control/agents')) as {
        agents: Array<{ uri: string; peakChats: number }>;
      };
      expect(agents.length).toBeGreaterThan(0);
      for (const agent of agents) expect(agent.peakChats, agent.uri).toBeLessThanOrEqual(CAPACITY);
      expect(Math.max(...agents.map((a) => a.peakChats))).toBeGreaterThan(1);
      // Every seat was given back in the shared pool: each surviving instance reports every agent at load 0.
      for (const instance of instances.filter((i) => i !== killed)) {
        await eventually(
          async () => (await (await fetch(`${instance.url}/metrics`)).text()).split('\n'),
          (lines) => {
            const loads = lines.filter((line) => line.startsWith('carechat_agent_load{'));
            expect(loads.length).toBeGreaterThan(0);
            expect(loads.filter((line) => !line.endsWith(' 0'))).toEqual([]);
          },
          { timeout: 10_000, interval: 200 },
        );
      }
      // No chat offered twice (by two instances): each offer's operationId acted on once by the platform.
      await collect();
      const offers = new Map<string, number>();
      for (const request of requests) {
        if (!request.operationId?.includes('.offer.') || request.replayed || request.status >= 300) continue;
        offers.set(request.operationId, (offers.get(request.operationId) ?? 0) + 1);
      }
      expect(offers.size).toBeGreaterThanOrEqual(CHATS / 2);
      expect([...offers].filter(([, count]) => count > 1)).toEqual([]);
      // The work was shared, callbacks crossed instances, and the survivors took the dead one's chats over.
      for (const instance of instances) expect(proxy.answered.get(instance.url)).toBeGreaterThan(0);
      const logs = instances.map((i) => readFileSync(i.child.logFile, 'utf8')).join('\n');
      expect(logs).toContain('callback for a chat another instance holds: recorded for it');
      expect(logs).toContain('chats taken over from an instance that stopped');
    } finally {
      clearInterval(collector);
      await proxy.close();
      for (const instance of instances) await instance.child.stop();
      await emulator.stop();
    }
  }, 600_000);
});
