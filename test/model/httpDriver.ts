/**
 * The main backend: a fresh SA + emulator over real HTTP on port 0 (`startStack`), a `ManualClock` as the
 * SA's clock, simulated agents that answer only through the emulator's control API, and the scripted
 * anonymous customer. Time moves only when a step moves the clock; waiting is `eventually()`.
 *
 * Platform outcomes are arranged at the previous trigger, for every platform step up to the next
 * trigger: a 503 / 403 fault for the step's request, both agents made busy for routing to queue the
 * chat, and, when the next trigger happens while the SA waits for a callback, that callback dropped so
 * the wait lasts. Before each trigger the emulator is drained (no callback queued or in flight), so a
 * fault only hits what comes after it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { AnyActorRef, AnyMachineSnapshot, InspectionEvent } from 'xstate';
import { DEMO_TENANT } from '../../src/config/tenant.ts';
import { silentLogger } from '../../src/runtime/logger.ts';
import type { SessionView, TranscriptEntry } from '../../src/runtime/sessions.ts';
import { type RunningStack, startStack } from '../../src/stack/index.ts';
import { AnonCustomer } from '../helpers/customer.ts';
import { eventually } from '../helpers/eventually.ts';
import { operatorEnv, operatorFetch } from '../helpers/operator.ts';
import { MODEL_EVENTS } from './chatModel.ts';
import { ModelClock } from './clock.ts';
import { PathDriver, type RestingView, WAIT_MS } from './driver.ts';
import { claimInspection } from './inspection.ts';
import type { ChatPath } from './paths.ts';
import { API_STEPS, leafOf, type PathStep, STALLS } from './steps.ts';

/** The two agent candidates (AGENTS below); the SA's routing picks between them. */
export const MODEL_AGENTS = [
  { uri: 'sip:alice@contoso.com', name: 'Alice Agent' },
  { uri: 'sip:bob@contoso.com', name: 'Bob Agent' },
] as const;
/** A supervisor outside the routing roster (the emulator knows Carol as a user). */
export const MODEL_SUPERVISOR = { uri: 'sip:carol@contoso.com', name: 'Carol Agent' } as const;

/**
 * SA settings the model assumes: two candidates, one retry per step, short deadlines on the ManualClock.
 * The queue's first position update (1 s) comes before its maximum wait (1.5 s), and a whole offer round
 * (retries ≤ 0.1 s, ringing 0.2 s) fits before the maximum wait when the agents free up at once; the
 * agent-reply deadline (2 s) comes before the customer-idle one (5 s).
 */
export const MODEL_SA_ENV = {
  AGENTS: MODEL_AGENTS.map((a) => `${a.uri}=${a.name}`).join(','),
  MAX_ATTEMPTS: '2',
  RETRY_BASE_MS: '100',
  STEP_TIMEOUT_MS: '1000',
  OFFER_TIMEOUT_MS: '200',
  QUEUE_UPDATE_MS: '1000',
  MAX_QUEUE_WAIT_MS: '1500',
  CUSTOMER_IDLE_MS: '5000',
  IDLE_GRACE_MS: '1000',
  AGENT_REPLY_MS: '2000',
  MAX_MISSED_OFFERS: '100',
};

/** The SA's API timeout in paths where a request times out, and how long the emulator holds that request. */
const API_TIMEOUT_MS = 1000;
/**
 * Long enough for the SA to give up, release, and the test to take its next step (a customer leaving)
 * before the held request is carried out and its meeting reports itself.
 */
const HELD_MS = 8000;

type Timer =
  | 'timer.retry'
  | 'timer.stepTimeout'
  | 'timer.offerExpired'
  | 'timer.queueUpdate'
  | 'timer.queueExpired'
  | 'timer.customerIdle'
  | 'timer.agentReply';

const TIMERS: Partial<Record<PathStep['event'], Timer>> = {
  RETRY_TIMER: 'timer.retry',
  STEP_TIMEOUT: 'timer.stepTimeout',
  OFFER_TIMEOUT: 'timer.offerExpired',
  QUEUE_TIMER: 'timer.queueUpdate',
  QUEUE_EXPIRED: 'timer.queueExpired',
  IDLE_TIMER: 'timer.customerIdle',
  REPLY_TIMER: 'timer.agentReply',
};

/**
 * Business hours that close two minutes from `now` (in a time zone where that is not near midnight), and
 * the instant they close. The SA's clock starts within them; moving it past `closesAt` closes the service.
 */
export function hoursClosingSoon(now: number): { spec: string; closesAt: number } {
  for (const timeZone of ['UTC', 'Asia/Tokyo', 'America/Los_Angeles']) {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-GB', {
        timeZone,
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        hourCycle: 'h23',
      })
        .formatToParts(new Date(now))
        .map((p) => [p.type, Number(p.value)]),
    ) as { hour: number; minute: number; second: number };
    const minute = parts.hour * 60 + parts.minute;
    if (minute < 60 || minute > 22 * 60) continue;
    const end = minute + 2;
    const hhmm = `${String(Math.floor(end / 60)).padStart(2, '0')}:${String(end % 60).padStart(2, '0')}`;
    const closesAt = now - parts.second * 1000 - (now % 1000) + 2 * 60_000;
    return { spec: `${timeZone} mon-sun 00:00-${hhmm}`, closesAt };
  }
  throw new Error('no time zone is between 01:00 and 22:00 right now (cannot happen)');
}

const isOfferState = (modelLeaf: string) =>
  /^(welcomed\.offering|agentsJoined\.staffOffer)\./.test(modelLeaf);

export class HttpDriver extends PathDriver {
  readonly backend = 'http' as const;
  private customer: AnonCustomer | undefined;
  private sessionId: string | undefined;
  private attachError: string | undefined;
  /** Who the current staffing offer is for. */
  private staffAgent: string | undefined;
  private writes = 0;
  private readonly unsubscribe: () => void;
  private releaseInspection: (() => void) | undefined;

  private constructor(
    path: ChatPath,
    private readonly stack: RunningStack,
    private readonly clock: ModelClock,
    /** Set when the path's chat arrives after hours: when the business hours close. */
    private readonly closesAt?: number,
  ) {
    super(path);
    // The first callback of the chat creates its session: start observing the actor right there, before
    // any of its side effects can complete.
    this.unsubscribe = stack.sa.sessions.onCallbackEvent((event, sessionId) => {
      if (event.type !== 'callback.invitationReceived' || !sessionId || this.sessionId) return;
      this.sessionId = sessionId;
      this.attach(sessionId);
    });
  }

  static async open(path: ChatPath): Promise<HttpDriver> {
    // The SA verifies callback tokens against its clock: start it at the real time.
    const clock = new ModelClock(Date.now());
    const afterHours = path.steps.some((s) => s.event === 'AFTER_HOURS');
    const hours = afterHours ? hoursClosingSoon(clock.now()) : undefined;
    // A request held past the SA's API timeout (real time, unlike the deadlines on the ModelClock).
    const timesOut = path.steps.some((s) => s.event === 'API_TIMES_OUT');
    const stack = await startStack({
      clock,
      logger: silentLogger,
      env: operatorEnv({
        ...MODEL_SA_ENV,
        BUSINESS_HOURS: hours?.spec ?? 'always',
        ...(timesOut ? { API_TIMEOUT_MS: String(API_TIMEOUT_MS) } : {}),
      }),
      emulatorConfig: {
        // Agents answer only when a step says so; nothing rings out or times out on its own.
        agentBehaviour: { answer: 'manual', greeting: '', autoReply: false, typingMs: 0 },
        ringTimeoutMs: 600_000,
        invitationTimeoutMs: 600_000,
      },
    });
    return new HttpDriver(path, stack, clock, hours?.closesAt);
  }

  /** From its creation on, the session actor's inspection events feed the trail (see inspection.ts). */
  private attach(sessionId: string): void {
    this.releaseInspection = claimInspection(sessionId, (event) =>
      this.trail.observe(event as InspectionEvent),
    );
    if (this.trail.chat.length === 0) {
      this.attachError = `no inspection events for session ${sessionId}: is createActor wrapped (vi.mock of xstate)?`;
    }
  }

  protected async sessionStarted(): Promise<void> {
    if (this.attachError) throw new Error(this.attachError);
    if (!this.sessionId) throw new Error('no chat session yet');
  }

  protected async checkNoSession(): Promise<void> {
    const response = await operatorFetch(`${this.stack.saUrl}/sessions`);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { sessions: unknown[] }).sessions).toEqual([]);
  }

  private async view(): Promise<SessionView> {
    const response = await operatorFetch(`${this.stack.saUrl}/sessions/${this.sessionId}`);
    const text = await response.text();
    expect(response.status, text).toBe(200);
    return JSON.parse(text) as SessionView;
  }

  /** The agent-offer child running in the session, if any (read from the actor, not over HTTP). */
  private offerChild(): AnyActorRef | undefined {
    const snapshot = this.stack.sa.sessions.snapshot(this.sessionId!) as AnyMachineSnapshot | undefined;
    const children = Object.values(snapshot?.children ?? {}) as AnyActorRef[];
    return children.find((child) => {
      const s = child.getSnapshot() as AnyMachineSnapshot;
      return s?.machine?.id === 'agentOffer' && s.status === 'active';
    });
  }

  /** No callback queued or in flight: whatever the emulator had to say has been said. */
  private async drained(): Promise<void> {
    await eventually(
      () => this.stack.emulator.callbacksBusy(),
      (busy) => {
        if (busy) throw new Error('the emulator still has callbacks queued or in flight');
      },
      { timeout: WAIT_MS },
    );
  }

  protected async resting(): Promise<RestingView> {
    await this.drained();
    const view = await this.view();
    const offer = this.offerChild()?.getSnapshot() as AnyMachineSnapshot | undefined;
    return {
      chat: leafOf(view.stateValue),
      offer: offer ? leafOf(offer.value) : undefined,
      status: view.status,
      outcome: view.outcome,
    };
  }

  protected async platform(): Promise<void> {
    // Arranged at the previous trigger; `check` watches the session take it.
  }

  protected async trigger(step: PathStep, index: number): Promise<void> {
    await this.drained();
    await this.arrangeUntilNextTrigger(index);
    const timer = TIMERS[step.event];
    if (timer) return this.reachDeadline(timer, isOfferState(step.source));
    switch (step.event) {
      case 'CUSTOMER_STARTS':
        this.customer = this.closesAt
          ? await this.startJustBeforeClosing(this.closesAt)
          : await AnonCustomer.start(this.stack.saUrl, { name: 'Model Customer' });
        return;
      case 'CUSTOMER_WRITES':
        return this.customerWrites();
      case 'CUSTOMER_LEAVES':
        return this.customerLeaves();
      case 'CUSTOMER_LEAVES_UNNOTICED':
        this.stack.emulator.faults.add({
          kind: 'callback',
          action: 'drop',
          match: 'conversation: messaging updated',
          count: 1,
        });
        return this.customerLeaves();
      case 'OPERATOR_CLOSES':
        return this.operator('close', {});
      case 'MEETING_ENDED':
        return this.endMeeting();
      case 'MEETING_ENDED_AGENTS_UNNOTICED':
        this.stack.emulator.faults.add({
          kind: 'callback',
          action: 'drop',
          match: 'participant deleted',
          count: 1,
        });
        return this.endMeeting();
      case 'AGENT_ACCEPTS':
      case 'AGENT_DECLINES': {
        const who =
          step.source === 'welcomed.offering.ringing' ? (await this.view()).offering?.uri : this.staffAgent;
        expect(who, 'an agent is being offered the chat').toBeTruthy();
        return this.agentControl(who!, step.event === 'AGENT_ACCEPTS' ? 'accept' : 'decline');
      }
      case 'AGENT_FREE':
        for (const agent of MODEL_AGENTS) await this.presence(agent.uri, 'available');
        return;
      case 'AGENT_LEAVES': {
        const [agent] = (await this.view()).agents;
        expect(agent, 'an agent is in the chat').toBeTruthy();
        return this.agentControl(agent!.uri, 'leave');
      }
      case 'TRANSFER':
      case 'ADD_AGENT': {
        const inChat = (await this.view()).agents.map((a) => a.uri);
        this.staffAgent = MODEL_AGENTS.find((a) => !inChat.includes(a.uri))!.uri;
        return this.operator(step.event === 'TRANSFER' ? 'transfer' : 'agents', { uri: this.staffAgent });
      }
      case 'MONITOR':
        this.staffAgent = MODEL_SUPERVISOR.uri;
        return this.operator('monitor', { uri: this.staffAgent });
      case 'BARGE':
        return this.operator('barge', {});
      case 'LATE_AGENT_JOINS': {
        // The agent whose offer was withdrawn is the candidate not in the chat; their phone still rings.
        const inChat = (await this.view()).agents.map((a) => a.uri);
        return this.agentControl(MODEL_AGENTS.find((a) => !inChat.includes(a.uri))!.uri, 'accept');
      }
      default:
        throw new Error(`${step.event} is not a trigger the HTTP backend knows`);
    }
  }

  /**
   * Faults (and routing conditions) for the platform steps after trigger `index`, up to the next trigger.
   * Faults are taken by requests in arrival order, so when a request recurs in the segment (the welcome
   * and then a queue message are both a sendMessage; two offers both bridge an agent), each earlier
   * successful one gets a pass-through fault (no status, no latency) so the 503 / 403 lands on the right one.
   */
  private async arrangeUntilNextTrigger(index: number): Promise<void> {
    const segment: PathStep[] = [];
    for (const step of this.path.steps.slice(index)) {
      if (MODEL_EVENTS[step.event].kind === 'trigger') {
        const stall = STALLS[step.source];
        if (stall)
          this.stack.emulator.faults.add({ kind: 'callback', action: 'drop', match: stall.drop, count: 1 });
        break;
      }
      segment.push(step);
    }
    const faulted = (step: PathStep) =>
      step.event === 'API_UNAVAILABLE' || step.event === 'API_REFUSED' || step.event === 'API_TIMES_OUT';
    const matcher = (step: PathStep) => {
      const api = API_STEPS[step.source];
      return api ? `${api.method} ${api.path}` : undefined;
    };
    for (const [i, step] of segment.entries()) {
      if (step.event === 'QUEUED') {
        for (const agent of MODEL_AGENTS) await this.presence(agent.uri, 'busy');
      }
      const api = API_STEPS[step.source];
      if (!api) continue;
      if (step.event === 'API_TIMES_OUT') {
        // Held past the SA's timeout, then carried out: the SA sees a timeout, the platform does the work.
        this.stack.emulator.faults.add({
          kind: 'http',
          method: api.method,
          path: api.path,
          latencyMs: HELD_MS,
          count: 1,
        });
      } else if (faulted(step)) {
        this.stack.emulator.faults.add({
          kind: 'http',
          method: api.method,
          path: api.path,
          status: step.event === 'API_UNAVAILABLE' ? 503 : 403,
          count: 1,
        });
      } else if (segment.slice(i + 1).some((later) => faulted(later) && matcher(later) === matcher(step))) {
        this.stack.emulator.faults.add({
          kind: 'http',
          method: api.method,
          path: api.path,
          latencyMs: 0,
          count: 1,
        });
      }
    }
  }

  /** An operator action on the SA: POST /sessions/:id/<action>, answered 202. */
  private async operator(action: string, body: object): Promise<void> {
    const response = await operatorFetch(`${this.stack.saUrl}/sessions/${this.sessionId}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status, await response.text()).toBe(202);
  }

  /** An agent's presence as the SA's routing sees it. */
  private async presence(uri: string, presence: 'available' | 'busy'): Promise<void> {
    const response = await operatorFetch(`${this.stack.saUrl}/agents/${encodeURIComponent(uri)}/presence`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ presence }),
    });
    expect(response.status, await response.text()).toBe(200);
  }

  /** A simulated agent acts through the emulator's control API. */
  private async agentControl(uri: string, action: 'accept' | 'decline' | 'leave'): Promise<void> {
    const response = await fetch(
      `${this.stack.emulatorUrl}/control/agents/${encodeURIComponent(uri)}/${action}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      },
    );
    expect(response.status, await response.text()).toBe(200);
  }

  /**
   * The business hours end between the customer's token and their invitation: the token comes from the
   * SA through a relay that, once the SA has issued it, moves the clock past closing time.
   */
  private async startJustBeforeClosing(closesAt: number): Promise<AnonCustomer> {
    const saUrl = this.stack.saUrl;
    const clock = this.clock;
    const relay = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', async () => {
        try {
          const response = await fetch(`${saUrl}/chat/token`, {
            method: 'POST',
            headers: { 'content-type': req.headers['content-type'] ?? '', origin: req.headers.origin ?? '' },
            body: Buffer.concat(chunks).toString('utf8'),
          });
          const text = await response.text();
          if (response.status === 200) clock.advance(closesAt - clock.now() + 1000);
          res.writeHead(response.status, { 'content-type': 'application/json' }).end(text);
        } catch (error) {
          res
            .writeHead(502, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: String(error) }));
        }
      });
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = relay.address() as AddressInfo;
      return await AnonCustomer.start(`http://127.0.0.1:${port}`, {
        name: 'Model Customer',
        origin: new URL(saUrl).origin,
      });
    } finally {
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    }
  }

  private async customerWrites(): Promise<void> {
    const text = `model message ${++this.writes}`;
    await this.customer!.send(text);
    // The customer's message reached the session (it re-arms the idle and reply deadlines with it).
    await eventually(
      async () => {
        const response = await operatorFetch(`${this.stack.saUrl}/sessions/${this.sessionId}/transcript`);
        return ((await response.json()) as { entries: TranscriptEntry[] }).entries;
      },
      (entries) => {
        if (!entries.some((e) => e.kind === 'message' && e.text === text)) {
          throw new Error(`the session has not seen the customer's "${text}" yet`);
        }
      },
      { timeout: WAIT_MS },
    );
  }

  private async customerLeaves(): Promise<void> {
    const customer = this.customer!;
    await eventually(
      () => customer.links.conversation,
      (href) => {
        if (!href) throw new Error("the customer's event channel has not reported the conversation yet");
      },
      { timeout: WAIT_MS },
    );
    await customer.leave();
  }

  private async endMeeting(): Promise<void> {
    const conference = (await this.view()).conversations.conference;
    expect(conference, 'the SA knows the meeting').toBeTruthy();
    const tokenResponse = await fetch(`${this.stack.emulatorUrl}/${DEMO_TENANT.tenantId}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: DEMO_TENANT.clientId,
        client_secret: DEMO_TENANT.clientSecret,
        resource: DEMO_TENANT.platformAudience,
      }),
    });
    expect(tokenResponse.status).toBe(200);
    const { access_token: token } = (await tokenResponse.json()) as { access_token: string };
    const response = await fetch(conference!, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status, await response.text()).toBe(204);
  }

  /** Move the ManualClock to a deadline of the session (or of its offer), firing it. */
  private async reachDeadline(timer: Timer, inOffer: boolean): Promise<void> {
    let at: number | undefined;
    let where: string;
    if (inOffer) {
      const offer = this.offerChild()?.getSnapshot() as AnyMachineSnapshot | undefined;
      at = (offer?.context as { deadlines?: Record<string, number> } | undefined)?.deadlines?.[timer];
      where = `the agent offer (${offer ? leafOf(offer.value) : 'none running'})`;
    } else {
      const view = await this.view();
      at = view.deadlines[timer] ? Date.parse(view.deadlines[timer]!) : undefined;
      where = leafOf(view.stateValue);
    }
    expect(at, `${timer} deadline set in ${where}`).toBeDefined();
    try {
      this.clock.advance(Math.max(0, at! - this.clock.now()));
    } catch (error) {
      if (error instanceof Error) {
        const deadlines = this.stack.sa.sessions.snapshot(this.sessionId!)?.context.deadlines ?? {};
        error.message += `; moving to ${timer} in ${where}; deadlines now ${JSON.stringify(deadlines)}`;
      }
      throw error;
    }
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.releaseInspection?.();
    await this.customer?.close();
    await this.stack.close();
  }
}
