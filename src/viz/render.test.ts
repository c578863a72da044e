import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { chatSessionMachine } from '../../machines/chatSession/index.ts';
import {
  defectiveMachine,
  historyMachine,
  orderMachine,
  parallelMachine,
} from '../../test/helpers/sampleMachines.ts';
import { machineGraph, UnknownStateError } from './graph.ts';
import { renderSvg, toDot, toMermaid } from './render.ts';
import { enteredStates, sessionChartDot, sessionChartSvg } from './sessionChart.ts';

/** The DOT statement that declares a node (`"id" [attrs];`), or undefined. */
function nodeLine(dot: string, id: string): string | undefined {
  return dot.split('\n').find((line) => line.trim().startsWith(`"${id}" [`));
}

function edgeLines(dot: string): string[] {
  return dot.split('\n').filter((line) => line.includes('" -> "'));
}

/** Text of every <text> element of an SVG document. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
}

describe('toDot', () => {
  it('is deterministic: the same machine definition always gives the same text', () => {
    const again = createMachine(orderMachine.config as Parameters<typeof createMachine>[0]);
    expect(toDot(orderMachine)).toBe(toDot(orderMachine));
    expect(toDot(again)).toBe(toDot(orderMachine));
    expect(toDot(chatSessionMachine)).toBe(toDot(chatSessionMachine));
  });

  it('draws every state: compound states as clusters, final states with a double border', () => {
    const dot = toDot(orderMachine);
    expect(dot).toContain('subgraph "cluster_order.shipping" {');
    expect(nodeLine(dot, 'order.delivered')).toContain('peripheries=2');
    expect(nodeLine(dot, 'order.shipping.sent')).toContain('peripheries=2');
    expect(nodeLine(dot, 'order.reserving')).not.toContain('peripheries');
    for (const node of machineGraph(orderMachine).nodes.filter((n) => n.type !== 'compound')) {
      expect(nodeLine(dot, node.id), node.id).toContain(`label="${node.key}"`);
    }
  });

  it('labels arrows with the event and its guard, and merges the arrows between the same two states', () => {
    const lines = edgeLines(toDot(orderMachine));
    const payment = lines.filter((l) =>
      l.startsWith('  "order.awaitingPayment" -> "order.shipping.__initial"'),
    );
    expect(payment).toHaveLength(1);
    expect(payment[0]).toContain('label="payment.confirmed [and(isPaid, !isVip)]\\npayment.confirmed"');
    expect(payment[0]).toContain('lhead="cluster_order.shipping"');
    expect(lines.some((l) => l.includes('label="done(reserveStock)"'))).toBe(true);
    expect(lines.some((l) => l.includes('label="after 30s"'))).toBe(true);
    expect(lines.some((l) => l.includes('label="always [isPaid]"') && l.includes('style="dashed"'))).toBe(
      true,
    );
  });

  it('draws a parallel state as a dashed cluster holding one cluster per region', () => {
    const dot = toDot(parallelMachine);
    expect(dot).toMatch(
      /subgraph "cluster_para\.work" \{\n\s+graph \[[^\]]*label="work \(parallel\)", style="rounded,dashed"/,
    );
    expect(dot).toContain('subgraph "cluster_para.work.upload" {');
    expect(dot).toContain('subgraph "cluster_para.work.scan" {');
  });

  it('draws arrows leaving a compound state from its border, naming the inner state each starts from', () => {
    const dot = toDot(chatSessionMachine);
    const toFailed = edgeLines(dot).filter(
      (l) =>
        l.includes('ltail="cluster_chatSession.bridged"') && l.includes('lhead="cluster_chatSession.failed"'),
    );
    expect(toFailed).toHaveLength(1);
    expect(toFailed[0]).toMatch(/sendingWelcome: error\(sendWelcome\)/);
  });

  it('fills the current state and draws the path taken thick, without changing the layout of others', () => {
    const plain = toDot(orderMachine);
    const lit = toDot(orderMachine, {
      current: ['order.shipping', 'order.shipping.packing'],
      path: [
        { from: 'order.reserving', to: 'order.checking' },
        { from: 'order.checking', to: 'order.shipping.packing' },
      ],
    });
    expect(nodeLine(lit, 'order.shipping.packing')).toContain('class="state atomic current"');
    expect(nodeLine(lit, 'order.shipping.packing')).toContain('style="rounded,filled"');
    expect(nodeLine(lit, 'order.reserving')).toContain('class="state atomic visited"');
    expect(lit).toMatch(/graph \[id="state:order\.shipping", class="state compound current"/);
    const taken = edgeLines(lit).filter((l) => l.includes('class="transition taken"'));
    expect(taken.map((l) => l.trim().split(' [')[0])).toEqual([
      '"order.reserving" -> "order.checking"',
      '"order.checking" -> "order.shipping.__initial"',
    ]);
    expect(edgeLines(lit)).toHaveLength(edgeLines(plain).length);
  });

  it('finds the path through transient (always) states that a history skips', () => {
    // waiting --timer--> deciding --always--> retrying: the history only saw the two ends.
    const transient = createMachine({
      id: 'job',
      initial: 'waiting',
      states: {
        waiting: { on: { timer: 'deciding' } },
        deciding: { always: [{ guard: () => true, target: 'retrying' }, { target: 'done' }] },
        retrying: { on: { again: 'waiting' } },
        done: { type: 'final' },
      },
    });
    const dot = toDot(transient, { path: [{ from: 'job.waiting', to: 'job.retrying' }] });
    const taken = edgeLines(dot).filter((l) => l.includes('class="transition taken"'));
    expect(taken.map((l) => l.trim().split(' [')[0])).toEqual([
      '"job.waiting" -> "job.deciding"',
      '"job.deciding" -> "job.retrying"',
    ]);
    expect(nodeLine(dot, 'job.deciding')).toContain('visited');
  });

  it('still shows, dotted, a step no transition explains', () => {
    const dot = toDot(defectiveMachine, { path: [{ from: 'defective.trap', to: 'defective.end' }] });
    expect(edgeLines(dot).find((l) => l.includes('unexplained'))).toMatch(
      /^ {2}"defective\.trap" -> "defective\.end" \[class="transition taken unexplained", style="dotted"/,
    );
  });

  it('puts a title above the chart when asked, escaping quotes', () => {
    expect(toDot(orderMachine, { title: 'session "42"' })).toContain(
      'label="session \\"42\\"", labelloc="t"',
    );
  });
});

describe('toMermaid', () => {
  it('writes a stateDiagram-v2 with composite states, initial and final markers', () => {
    expect(toMermaid(orderMachine)).toBe(
      [
        'stateDiagram-v2',
        '  direction LR',
        '  [*] --> reserving',
        '  state shipping {',
        '    [*] --> packing',
        '    sent --> [*]',
        '    packing --> sent : after PT1H',
        '  }',
        '  delivered --> [*]',
        '  cancelled --> [*]',
        '  failed --> [*]',
        '  reserving --> cancelled : order.cancel',
        '  reserving --> checking : done(reserveStock)',
        '  reserving --> failed : error(reserveStock)',
        '  checking --> shipping : always [isPaid]',
        '  checking --> awaitingPayment : always',
        '  awaitingPayment --> shipping : payment.confirmed [and(isPaid, !isVip)], payment.confirmed',
        '  awaitingPayment --> cancelled : after 30s',
        '  shipping --> delivered : done',
        '',
      ].join('\n'),
    );
  });

  it('separates parallel regions with -- and gives states that share a key distinct ids', () => {
    const text = toMermaid(parallelMachine);
    expect(text).toContain('state work {\n    state upload {');
    expect(text).toMatch(/\n {4}--\n {4}state scan \{/);
    expect(text).toContain('state "pending" as work_upload_pending');
    expect(text).toContain('state "pending" as work_scan_pending');
    expect(text).toContain('work_upload_pending --> work_upload_done : upload.done');
  });

  it('lifts transitions out of composites to the composite, and sends history targets to their parent', () => {
    const chat = toMermaid(chatSessionMachine);
    expect(chat).toMatch(/\n {2}invited --> adhocMeeting : done\(startAdhocMeeting\)\n/);
    expect(chat).toMatch(/%% customer --> active : callback\.messageCompleted/);
    expect(toMermaid(historyMachine)).toContain('paused --> editing : resume');
  });
});

describe('renderSvg', () => {
  it('lays out DOT with Graphviz (WebAssembly) and returns an SVG document with every state name', async () => {
    const svg = await renderSvg(toDot(orderMachine));
    expect(svg).toMatch(/^<\?xml[^>]*>\s*<!DOCTYPE svg/);
    expect(svg).toContain('</svg>');
    const texts = svgTexts(svg);
    for (const node of machineGraph(orderMachine).nodes) expect(texts, node.key).toContain(node.key);
  });

  it('gives the same SVG for the same DOT (Graphviz is loaded once and reused)', async () => {
    const dot = toDot(parallelMachine);
    const [a, b] = await Promise.all([renderSvg(dot), renderSvg(dot)]);
    expect(a).toBe(b);
  });

  it('rejects DOT that Graphviz cannot parse, with its syntax error', async () => {
    await expect(renderSvg('digraph { a -> }')).rejects.toThrow(/syntax error/);
  });
});

describe('sessionChartSvg', () => {
  const history = [
    'chatSession.invited.starting',
    'chatSession.adhocMeeting',
    'chatSession.conferenced.addingMessaging',
  ];

  it('lights the current state and the path it took in the SVG (classes for the dashboard to style)', async () => {
    const svg = await sessionChartSvg(chatSessionMachine, {
      stateValue: { conferenced: 'addingMessaging' },
      history,
      title: 'session s-1',
    });
    expect(svg).toMatch(
      /<g id="state:chatSession\.conferenced\.addingMessaging" class="node state atomic current">/,
    );
    expect(svg).toMatch(/<g id="state:chatSession\.adhocMeeting" class="node state atomic visited">/);
    expect(svg.match(/class="edge transition taken"/g)).toHaveLength(2);
    expect(svgTexts(svg)).toContain('session s&#45;1');
  });

  it('accepts history entries as paths from the root as well as ids', () => {
    const byPath = sessionChartDot(chatSessionMachine, {
      stateValue: { conferenced: 'addingMessaging' },
      history: ['invited.starting', 'adhocMeeting', 'conferenced.addingMessaging'],
    });
    expect(byPath).toBe(
      sessionChartDot(chatSessionMachine, { stateValue: { conferenced: 'addingMessaging' }, history }),
    );
  });

  it('rejects a history naming a state the machine does not have (e.g. from an older version)', async () => {
    await expect(
      sessionChartSvg(chatSessionMachine, { stateValue: 'adhocMeeting', history: ['invited.ringing'] }),
    ).rejects.toThrow(UnknownStateError);
    await expect(sessionChartSvg(chatSessionMachine, { stateValue: 'nowhere', history: [] })).rejects.toThrow(
      "machine 'chatSession': state 'chatSession' has no child 'nowhere'",
    );
  });

  it('enteredStates gives the atomic states to append to the history on each snapshot change', () => {
    expect(enteredStates(chatSessionMachine, undefined, { invited: 'starting' })).toEqual([
      'chatSession.invited.starting',
    ]);
    expect(enteredStates(chatSessionMachine, { invited: 'starting' }, 'adhocMeeting')).toEqual([
      'chatSession.adhocMeeting',
    ]);
    expect(enteredStates(chatSessionMachine, 'adhocMeeting', 'adhocMeeting')).toEqual([]);
    expect(
      enteredStates(
        parallelMachine,
        { work: { upload: 'pending', scan: 'pending' } },
        {
          work: { upload: 'done', scan: 'pending' },
        },
      ),
    ).toEqual(['para.work.upload.done']);
  });
});

describe('transitions declared on the machine itself', () => {
  const machine = createMachine({
    id: 'r',
    initial: 'idle',
    on: { reset: '.idle' },
    states: { idle: { on: { go: 'busy' } }, busy: { on: { finish: 'done' } }, done: { type: 'final' } },
  });

  it('start from an "(any state)" marker in the chart and match any step of a path', () => {
    const dot = toDot(machine, { path: [{ from: 'r.busy', to: 'r.idle' }] });
    expect(nodeLine(dot, '__any')).toContain('label="(any state)"');
    expect(edgeLines(dot).find((l) => l.includes('"__any" -> "r.idle"'))).toContain(
      'class="transition taken", label="reset"',
    );
  });

  it('are kept as a comment in the Mermaid chart', () => {
    expect(toMermaid(machine)).toContain('\n  %% (any state) --> idle : reset\n');
  });
});
