import type { Logger } from 'pino';
import {
  type AgentBehaviour,
  DEFAULT_AGENT_BEHAVIOUR,
  type EmulatorConfig,
  type Presence,
} from './config.ts';
import { badParameter, conflict, EmulatorError } from './errors.ts';
import { parseRelayed, relayedName } from './relayed.ts';
import type { ParticipantInfo } from './resources.ts';
import type { Scheduler } from './scheduler.ts';
import { userPart } from './wire.ts';
import type { AgentHooks, World } from './world/index.ts';

export interface AgentMessage {
  time: string;
  direction: 'in' | 'out';
  from: ParticipantInfo;
  text: string;
  origin: 'customer' | 'agent' | 'sa' | 'self';
  /** A customer message the SA relayed into the meeting (see relayed.ts): unanswered backlog or history. */
  relayed?: 'backlog' | 'history';
}

interface AgentConversation {
  conversationId: string;
  active: boolean;
  joinedAt: string;
  leftAt?: string;
  leftReason?: string;
  messages: AgentMessage[];
  /** Names of whoever the agent currently sees typing. */
  typing: Map<string, string>;
}

interface AgentState {
  uri: string;
  name: string;
  skills: string[];
  presence: Presence;
  behaviour: AgentBehaviour;
  conversations: Map<string, AgentConversation>;
  /** The most meetings the agent was in at once (what a capacity check reads, from the platform's side). */
  peakChats: number;
}

/** Simulated Skype for Business users (the agents): roster, presence, behaviour, what they saw. */
export class Agents implements AgentHooks {
  private readonly roster = new Map<string, AgentState>();
  private world!: World;

  constructor(
    config: EmulatorConfig,
    private readonly scheduler: Scheduler,
    private readonly logger: Logger,
  ) {
    for (const spec of config.agents) {
      this.roster.set(userPart(spec.uri), {
        uri: spec.uri,
        name: spec.name,
        skills: [...(spec.skills ?? [])],
        presence: spec.presence ?? 'available',
        behaviour: { ...DEFAULT_AGENT_BEHAVIOUR, ...config.agentBehaviour, ...spec.behaviour },
        conversations: new Map(),
        peakChats: 0,
      });
    }
  }

  bind(world: World): void {
    this.world = world;
  }

  // ------------------------------------------------------------------ hooks from the world

  invited(invitation: { id: string; to: string; conversationId: string }): void {
    const agent = this.roster.get(userPart(invitation.to));
    // An unknown or offline user never answers: the invitation rings out (ring timeout).
    if (!agent || agent.presence === 'offline') return;
    const { answer, acceptDelayMs } = agent.behaviour;
    if (answer === 'accept') {
      this.scheduler.after(acceptDelayMs, () => {
        this.world.acceptParticipantInvitation(invitation.id, agent.name);
      });
    } else if (answer === 'decline') {
      this.scheduler.after(acceptDelayMs, () => {
        this.world.declineParticipantInvitation(invitation.id);
      });
    }
  }

  joined(agentUri: string, conversationId: string): void {
    const agent = this.roster.get(userPart(agentUri));
    if (!agent) return;
    agent.conversations.set(conversationId, {
      conversationId,
      active: true,
      joinedAt: new Date().toISOString(),
      messages: [],
      typing: new Map(),
    });
    const inMeetings = [...agent.conversations.values()].filter((c) => c.active).length;
    agent.peakChats = Math.max(agent.peakChats, inMeetings);
    this.trim(agent);
    const greeting = agent.behaviour.greeting.replaceAll('{name}', agent.name);
    if (greeting) this.sayWithTyping(agent, conversationId, greeting);
  }

  received(
    agentUri: string,
    conversationId: string,
    message: { from: ParticipantInfo; text: string; origin: 'customer' | 'agent' | 'sa' },
  ): void {
    const agent = this.roster.get(userPart(agentUri));
    const conv = agent?.conversations.get(conversationId);
    if (!agent || !conv) return;
    conv.typing.delete(userPart(message.from.uri));
    if (message.origin === 'sa' && this.receivedRelayed(agent, conversationId, message.text)) return;
    conv.messages.push({ time: new Date().toISOString(), direction: 'in', ...message });
    if (message.origin === 'customer' && agent.behaviour.autoReply && conv.active) {
      this.sayWithTyping(
        agent,
        conversationId,
        agent.behaviour.replyTemplate.replaceAll('{text}', message.text),
      );
    }
  }

  typing(agentUri: string, conversationId: string, who: ParticipantInfo, on: boolean): void {
    const conv = this.roster.get(userPart(agentUri))?.conversations.get(conversationId);
    if (!conv) return;
    if (on) conv.typing.set(userPart(who.uri), who.name);
    else conv.typing.delete(userPart(who.uri));
  }

  left(agentUri: string, conversationId: string, reason: string): void {
    const conv = this.roster.get(userPart(agentUri))?.conversations.get(conversationId);
    if (!conv) return;
    conv.active = false;
    conv.leftAt = new Date().toISOString();
    conv.leftReason = reason;
    conv.typing.clear();
  }

  // ------------------------------------------------------------------ control API

  list(): Record<string, unknown>[] {
    return [...this.roster.values()].map((agent) => this.describe(agent));
  }

  get(uri: string): Record<string, unknown> {
    return this.describe(this.agent(uri));
  }

  setPresence(uri: string, presence: Presence): Record<string, unknown> {
    const agent = this.agent(uri);
    agent.presence = presence;
    return this.describe(agent);
  }

  setBehaviour(uri: string, behaviour: Partial<AgentBehaviour>): Record<string, unknown> {
    const agent = this.agent(uri);
    agent.behaviour = { ...agent.behaviour, ...behaviour };
    return this.describe(agent);
  }

  accept(uri: string, invitationId?: string): { invitationId: string; conversationId: string } {
    const agent = this.agent(uri);
    const inv = this.ringing(agent, invitationId);
    if (!this.world.acceptParticipantInvitation(inv.id, agent.name)) {
      throw conflict(`invitation ${inv.id} is no longer ringing`);
    }
    return { invitationId: inv.id, conversationId: inv.conversationId };
  }

  decline(uri: string, invitationId?: string): { invitationId: string; conversationId: string } {
    const agent = this.agent(uri);
    const inv = this.ringing(agent, invitationId);
    if (!this.world.declineParticipantInvitation(inv.id))
      throw conflict(`invitation ${inv.id} is no longer ringing`);
    return { invitationId: inv.id, conversationId: inv.conversationId };
  }

  setTyping(uri: string, conversationId: string | undefined, on: boolean): { conversationId: string } {
    const agent = this.agent(uri);
    const cid = this.activeConversation(agent, conversationId);
    this.world.agentTyping(agent.uri, cid, on);
    return { conversationId: cid };
  }

  send(
    uri: string,
    conversationId: string | undefined,
    body: { text?: string; html?: string },
  ): { conversationId: string } {
    const agent = this.agent(uri);
    const cid = this.activeConversation(agent, conversationId);
    this.world.agentSendMessage(agent.uri, cid, body);
    this.recordOwn(agent, cid, body.text ?? body.html ?? '');
    return { conversationId: cid };
  }

  leave(uri: string, conversationId: string | undefined): { conversationId: string } {
    const agent = this.agent(uri);
    const cid = this.activeConversation(agent, conversationId);
    const conv = this.world.conversations.get(cid);
    if (!conv) throw conflict(`${agent.uri} is not in conversation ${cid}`);
    this.world.removeParticipant(conv, agent.uri, 'left');
    return { conversationId: cid };
  }

  // ------------------------------------------------------------------ internals

  /**
   * A message the SA relayed for the agent who joined (what the customer wrote before, the history): the
   * agent reads it as the named customer's message, and answers what was written before they joined like
   * a live message. False when the text is not a relayed customer message of this meeting.
   */
  private receivedRelayed(agent: AgentState, conversationId: string, text: string): boolean {
    const relayed = parseRelayed(text);
    if (!relayed) return false;
    const guest = this.world
      .bridgedLegs(conversationId)
      .map((leg) => this.world.guestOf(leg))
      .find((g) => relayedName(g.name) === relayed.name);
    const conv = agent.conversations.get(conversationId);
    if (!guest || !conv) return false;
    conv.messages.push({
      time: new Date().toISOString(),
      direction: 'in',
      from: guest,
      text: relayed.text,
      origin: 'customer',
      relayed: relayed.kind,
    });
    if (relayed.kind === 'backlog' && agent.behaviour.autoReply && conv.active) {
      this.sayWithTyping(
        agent,
        conversationId,
        agent.behaviour.replyTemplate.replaceAll('{text}', relayed.text),
      );
    }
    return true;
  }

  private sayWithTyping(agent: AgentState, conversationId: string, text: string): void {
    const send = () => {
      if (!agent.conversations.get(conversationId)?.active) return;
      try {
        this.world.agentSendMessage(agent.uri, conversationId, { text });
        this.recordOwn(agent, conversationId, text);
      } catch (error) {
        this.logger.debug({ err: error, agent: agent.uri }, 'simulated agent could not send');
      }
    };
    const { typingMs } = agent.behaviour;
    if (typingMs <= 0) {
      this.scheduler.soon(send);
      return;
    }
    this.scheduler.soon(() => {
      if (!agent.conversations.get(conversationId)?.active) return;
      try {
        this.world.agentTyping(agent.uri, conversationId, true);
      } catch {
        return;
      }
      this.scheduler.after(typingMs, send);
    });
  }

  private recordOwn(agent: AgentState, conversationId: string, text: string): void {
    agent.conversations.get(conversationId)?.messages.push({
      time: new Date().toISOString(),
      direction: 'out',
      from: { uri: agent.uri, name: agent.name },
      text,
      origin: 'self',
    });
  }

  private agent(uri: string): AgentState {
    const agent = this.roster.get(userPart(decodeURIComponent(uri)));
    if (!agent) throw new EmulatorError(404, 'NotFound', `agent ${uri} is not in the roster`);
    return agent;
  }

  private ringing(agent: AgentState, invitationId?: string) {
    const ringing = this.world
      .pendingInvitations()
      .filter((inv) => inv.to && userPart(inv.to) === userPart(agent.uri));
    const inv = invitationId ? ringing.find((i) => i.id === invitationId.toLowerCase()) : ringing[0];
    if (!inv) {
      throw conflict(
        invitationId
          ? `invitation ${invitationId} is not ringing for ${agent.uri}`
          : `nothing is ringing for ${agent.uri}`,
      );
    }
    return inv;
  }

  private activeConversation(agent: AgentState, conversationId?: string): string {
    const active = [...agent.conversations.values()].filter((c) => c.active).map((c) => c.conversationId);
    if (conversationId) {
      if (!active.includes(conversationId.toLowerCase())) {
        throw conflict(`${agent.uri} is not in conversation ${conversationId}`);
      }
      return conversationId.toLowerCase();
    }
    if (active.length === 0) throw conflict(`${agent.uri} is not in any conversation`);
    if (active.length > 1) {
      throw badParameter('conversationId', `is required: ${agent.uri} is in ${active.length} conversations`);
    }
    return active[0]!;
  }

  private trim(agent: AgentState): void {
    const ended = [...agent.conversations.values()].filter((c) => !c.active);
    for (const conv of ended.slice(0, Math.max(0, ended.length - 20)))
      agent.conversations.delete(conv.conversationId);
  }

  private describe(agent: AgentState): Record<string, unknown> {
    const ringing = this.world
      .pendingInvitations()
      .filter((inv) => inv.to && userPart(inv.to) === userPart(agent.uri))
      .map((inv) => ({ invitationId: inv.id, conversationId: inv.conversationId, subject: inv.subject }));
    const conversations = [...agent.conversations.values()].map((conv) => {
      const live = this.world.conversations.get(conv.conversationId);
      const guests = live
        ? this.world.bridgedLegs(conv.conversationId).map((leg) => this.world.guestOf(leg))
        : [];
      return {
        conversationId: conv.conversationId,
        active: conv.active,
        subject: live?.subject,
        meetingUri: live?.meeting?.uri,
        joinedAt: conv.joinedAt,
        leftAt: conv.leftAt,
        leftReason: conv.leftReason,
        participants: live?.meeting ? [...live.meeting.participants.values()] : [],
        guests,
        typing: [...conv.typing.values()],
        messages: conv.messages,
      };
    });
    return {
      uri: agent.uri,
      name: agent.name,
      skills: agent.skills,
      presence: agent.presence,
      behaviour: agent.behaviour,
      peakChats: agent.peakChats,
      ringing,
      conversations,
    };
  }
}
