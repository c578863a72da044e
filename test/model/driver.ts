/**
 * Driving one model path against the real chat session, step by step, the way `TestModel.testPath`
 * calls us: for each step the event's executor (`execute`), then the state's assertion (`check`).
 *
 * Triggers are performed when their step comes. Platform outcomes cannot be, because the SA does not
 * pause between its steps: the HTTP backend arranges them ahead of time (at the previous trigger) and
 * `check` then watches the session take them. `check` asserts the sequence of real states, on the
 * session and on its agent-offer child: since the previous step each went exactly where the model says
 * (allowing only `PASS_THROUGH` states in between), an offer that ended did so with the model's result,
 * and where the model rests before a trigger, the real session rests there too.
 */
import type { TestParam } from '@xstate/graph';
import { expect } from 'vitest';
import type { AnyStateNode } from 'xstate';
import { agentOfferMachine } from '../../machines/agentOffer.ts';
import { chatSessionMachine } from '../../machines/chatSession/index.ts';
import { eventually } from '../helpers/eventually.ts';
import { type ChatModelEvent, type ChatModelEventType, chatModel, MODEL_EVENTS } from './chatModel.ts';
import { type Backend, RealTrail } from './coverage.ts';
import type { ChatPath, ModelSnapshot } from './paths.ts';
import {
  leafOf,
  offerResultOf,
  type PathStep,
  passThroughFor,
  type RealState,
  realStateOf,
} from './steps.ts';

/**
 * How long a check waits for the session to get somewhere (HTTP round trips, callbacks, and the write each
 * step makes to the store before its effects run): generous, as every path runs at once on 2 cores.
 */
export const WAIT_MS = 20_000;

/** Ids of the model's atomic and final states (`chatModel.conferenced.bridging`, …). */
export function modelLeafIds(): string[] {
  const out: string[] = [];
  const walk = (node: AnyStateNode) => {
    const children = Object.values(node.states) as AnyStateNode[];
    if (children.length === 0) out.push(node.id);
    for (const child of children) walk(child);
  };
  walk(chatModel.root);
  return out;
}

/** What a backend reports at a resting point. */
export interface RestingView {
  /** `stateId` of the session's value. */
  chat: string;
  /** The offer child's state, if one runs. */
  offer: string | undefined;
  status: string;
  outcome: string | null;
}

export abstract class PathDriver {
  abstract readonly backend: Backend;
  readonly trail = new RealTrail(chatSessionMachine, [agentOfferMachine]);
  /** Index (in `graphPath.steps`) of the step executed last; 0 = the initial state. */
  private index = 0;
  /** Positions in `trail.chat` / `trail.offer` after what the previous check found. */
  private chatCursor = 0;
  private offerCursor = 0;

  constructor(readonly path: ChatPath) {}

  /** Executors and assertions for `TestModel.testPath`: every event and every leaf state of the model. */
  params(): TestParam<ModelSnapshot, ChatModelEvent> {
    const events: NonNullable<TestParam<ModelSnapshot, ChatModelEvent>['events']> = {};
    for (const type of Object.keys(MODEL_EVENTS) as ChatModelEventType[]) {
      events[type] = (step) => this.execute(this.path.graphPath.steps.indexOf(step));
    }
    const states: Record<string, (snapshot: ModelSnapshot) => Promise<void>> = {};
    for (const id of modelLeafIds()) states[`#${id}`] = (snapshot) => this.check(snapshot);
    return { events, states };
  }

  private async execute(index: number): Promise<void> {
    expect(index, 'steps run in order').toBe(this.index + 1);
    this.index = index;
    const step = this.path.steps[index - 1]!;
    if (MODEL_EVENTS[step.event].kind === 'trigger') await this.trigger(step, index);
    else await this.platform(step, index);
  }

  /** Wait until `trail` (from `cursor`) reaches `expected`; nothing but pass-through states before it. */
  private async reach(
    which: 'chat' | 'offer',
    cursor: number,
    expected: string,
    passThrough: ReadonlySet<string>,
  ): Promise<number> {
    const since = await eventually(
      async () => {
        await this.sessionStarted();
        return this.trail[which].slice(cursor);
      },
      (since) => {
        if (!since.includes(expected)) {
          throw new Error(
            `the ${which === 'chat' ? 'session' : 'agent offer'} has not reached ${expected}; since the previous step it went through [${since.join(', ')}]`,
          );
        }
      },
      { timeout: WAIT_MS },
    );
    const at = since.indexOf(expected);
    expect(
      since.slice(0, at).filter((state) => !passThrough.has(state)),
      `${which} states between the previous step and ${expected}`,
    ).toEqual([]);
    return cursor + at + 1;
  }

  private async check(snapshot: ModelSnapshot): Promise<void> {
    expect(snapshot, 'the state checked is the one the step reached').toBe(
      this.path.graphPath.steps[this.index]!.state,
    );
    const leaf = leafOf(snapshot.value);
    if (leaf === 'idle') return this.checkNoSession();
    const step = this.path.steps[this.index - 1]!;
    const expected = realStateOf(leaf);
    const from: RealState | undefined = step.source === 'idle' ? undefined : realStateOf(step.source);

    // A step that keeps the session where it is (the step happens in its offer, or is a self-loop whose
    // executor waited for its effect) leaves the session's own trail alone: what comes after the cursor
    // belongs to later steps (the session does not wait for the test between platform steps).
    if (from?.chat !== expected.chat) {
      this.chatCursor = await this.reach('chat', this.chatCursor, expected.chat, passThroughFor(step));
    }
    const result = offerResultOf(step);
    if (result) this.offerCursor = await this.reach('offer', this.offerCursor, result, new Set());
    // Likewise a step that leaves the offer where it was (the customer writes while it rings).
    if (expected.offer && !(from?.chat === expected.chat && from.offer === expected.offer)) {
      this.offerCursor = await this.reach('offer', this.offerCursor, expected.offer, new Set());
    }

    const next = this.path.steps[this.index];
    if (next === undefined || MODEL_EVENTS[next.event].kind === 'trigger') {
      const view = await this.resting();
      expect(view.chat, `the session rests in ${expected.chat}`).toBe(expected.chat);
      expect(this.trail.chat.at(-1), 'the session did nothing after it got there').toBe(expected.chat);
      if (expected.offer) {
        expect(view.offer, `the agent offer rests in ${expected.offer}`).toBe(expected.offer);
        expect(this.trail.offer.at(-1), 'the offer did nothing after it got there').toBe(expected.offer);
      }
      if (expected.chat === 'terminated') {
        expect(view.status).toBe('done');
        expect(view.outcome).toBe(snapshot.context.outcome);
      } else {
        expect(view.status).toBe('active');
      }
    }
  }

  /** The model context just before step `index` (offers tried, agents in the chat, …). */
  protected contextBefore(index: number): ModelSnapshot['context'] {
    return this.path.graphPath.steps[index - 1]!.state.context;
  }

  /** Perform a trigger (the previous check left the session at rest). */
  protected abstract trigger(step: PathStep, index: number): Promise<void>;
  /** A platform outcome: arranged earlier or caused now, depending on the backend. */
  protected abstract platform(step: PathStep, index: number): Promise<void>;
  /** Fails unless the session exists (the customer has started). */
  protected abstract sessionStarted(): Promise<void>;
  protected abstract checkNoSession(): Promise<void>;
  /** The session's state once nothing is in flight any more. */
  protected abstract resting(): Promise<RestingView>;
  abstract close(): Promise<void>;
}
