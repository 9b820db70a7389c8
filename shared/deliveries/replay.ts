import { createHash } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type QueryCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { DocumentDb } from '../storage/document-db';
import * as z from 'zod';
import { derivedId, idFloor } from '../ids';
import { keys } from '../storage/table';
import type { Webhook } from '../webhooks/model';
import type { BacklogStateStore } from './backlog';
import type { Delivery } from './model';
import type { DeliveryStore } from './store';

/**
 * Replay of a time range (Svix "recover since", Convoy batch retry): the webhook's deliveries whose
 * (first) event time is in [since, until] and whose status is asked for are queued again as new
 * deliveries at the back of its backlog, in their original order. Each copy carries the original
 * `webhook-id` and events, and a `webhook-replay: <replayId>` header.
 *
 * A replay is one item, `WEBHOOK#<id>` / `REPLAY#<replayId>`, whose id is a hash of the request, so
 * the same request is one replay. The range is read a page at a time; the API request queues as
 * much as `budget` allows, and a range it does not finish is named in the backlog state item
 * (`replaysQueuing`): the webhook's drain queues the next page whenever its backlog runs dry, so
 * no single invocation does unbounded work and the copies stay at the back of the backlog.
 */
export const REPLAYABLE_STATUSES = ['SUCCEEDED', 'FAILED', 'SKIPPED'] as const;
export const DEFAULT_REPLAY_STATUSES = ['FAILED', 'SKIPPED'] as const;

export const ReplayRequestSchema = z
  .strictObject({
    since: z.iso.datetime({ offset: true }),
    until: z.iso.datetime({ offset: true }),
    /** `all`, or the statuses to replay. @default ["FAILED", "SKIPPED"] */
    status: z.union([z.literal('all'), z.array(z.enum(REPLAYABLE_STATUSES)).min(1)]).default([...DEFAULT_REPLAY_STATUSES]),
  })
  .refine((r) => Date.parse(r.since) < Date.parse(r.until), { message: 'since must be before until', path: ['since'] });
export type ReplayRequest = z.infer<typeof ReplayRequestSchema>;

export const ReplayViewSchema = z.object({
  replayId: z.string(),
  webhookId: z.string(),
  since: z.string(),
  until: z.string(),
  statuses: z.array(z.enum(REPLAYABLE_STATUSES)),
  /** `queuing` while the range is still being read; `queued` once every delivery in it is queued. */
  state: z.enum(['queuing', 'queued']),
  queued: z.number().int(),
  /** Replayed deliveries the listener accepted. */
  sent: z.number().int(),
  /** Replayed deliveries given up on again. */
  failed: z.number().int(),
  /** Queued, not yet sent or given up. */
  remaining: z.number().int(),
  createdAt: z.string(),
});
export type ReplayView = z.infer<typeof ReplayViewSchema>;

export interface Replay {
  readonly replayId: string;
  readonly webhookId: string;
  readonly accountId: number;
  readonly since: string;
  readonly until: string;
  /** Where reading stops: `until`, or the request's time if `until` was later. */
  readonly readUntil: string;
  readonly statuses: readonly (typeof REPLAYABLE_STATUSES)[number][];
  /** The next source delivery's sort key to read from (exclusive); absent once all are queued. */
  readonly readAfter?: string;
  readonly queued: number;
  readonly sent: number;
  readonly failed: number;
  /** Epoch ms the replay began: its copies are ordered from here, after everything before it. */
  readonly startedAt: number;
  readonly createdAt: string;
}

export function toReplayView(replay: Replay): ReplayView {
  return {
    replayId: replay.replayId,
    webhookId: replay.webhookId,
    since: replay.since,
    until: replay.until,
    statuses: [...replay.statuses],
    state: replay.readAfter === undefined ? 'queued' : 'queuing',
    queued: replay.queued,
    sent: replay.sent,
    failed: replay.failed,
    remaining: Math.max(0, replay.queued - replay.sent - replay.failed),
    createdAt: replay.createdAt,
  };
}

/** What one replay request spends queuing before the webhook's drain takes over: well inside the API's 30 s. */
export const REPLAY_REQUEST_BUDGET_MS = 10_000;

/** Source deliveries read per Query page. */
const REPLAY_PAGE = 100;
const SECONDS_PER_DAY = 24 * 3600;

export class ReplayStore {
  constructor(
    private readonly db: DocumentDb,
    private readonly tableName: string,
    private readonly repository: Pick<DeliveryStore, 'put'>,
    private readonly state: Pick<BacklogStateStore, 'addReplay' | 'removeReplay'>,
    private readonly logTtlDays: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Records a replay unless the same request was made before; returns it and whether it is new. */
  /** `readUntil`: where reading the range stops (the request's `until`, or now if that is later). */
  async create(webhook: Webhook, request: { since: string; until: string; statuses: Replay['statuses'] }, readUntil: string): Promise<{ replay: Replay; created: boolean }> {
    const statuses = [...new Set(request.statuses)].sort();
    const since = new Date(request.since).toISOString();
    const until = new Date(request.until).toISOString();
    const replayId = `rpl_${createHash('sha256').update(`${webhook.id}\n${since}\n${until}\n${statuses.join(',')}`).digest('base64url').slice(0, 26)}`;
    const now = this.now();
    const replay: Replay = {
      replayId,
      webhookId: webhook.id,
      accountId: webhook.accountId,
      since,
      until,
      readUntil: new Date(readUntil).toISOString(),
      statuses,
      // The range starts at `since`: the first source key is above this bound.
      readAfter: keys.delivery(idFloor('msg', Date.parse(since))),
      queued: 0,
      sent: 0,
      failed: 0,
      startedAt: now.getTime(),
      createdAt: now.toISOString(),
    };
    try {
      await this.db.send(new PutCommand({ TableName: this.tableName, Item: this.toItem(replay), ConditionExpression: 'attribute_not_exists(pk)' }));
      return { replay, created: true };
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      return { replay: (await this.get(webhook.id, replayId))!, created: false };
    }
  }

  async get(webhookId: string, replayId: string): Promise<Replay | undefined> {
    const { Item } = await this.db.send(new GetCommand({ TableName: this.tableName, Key: this.key(webhookId, replayId), ConsistentRead: true }));
    return Item ? fromItem(Item) : undefined;
  }

  /**
   * Queues the replay's next source deliveries, page by page while `hasTime`, as copies at the back
   * of the backlog. Returns the first copy written (where the drain must look) and the replay as
   * it now stands. Two runs of one page write the same copies (their ids derive from the replay
   * and the source), and only one advances the replay.
   */
  async queueMore(replay: Replay, hasTime: () => boolean): Promise<{ replay: Replay; firstQueuedId?: string }> {
    let current = replay;
    let firstQueuedId: string | undefined;
    while (current.readAfter !== undefined && hasTime()) {
      const page: QueryCommandOutput = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          FilterExpression: `#status IN (${current.statuses.map((_, i) => `:s${i}`).join(', ')}) AND kind <> :test`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':pk': keys.webhook(current.webhookId),
            ':from': current.readAfter,
            // Ids end with a hash after the time part: `~` sorts above every id of the last millisecond.
            ':to': `${keys.delivery(idFloor('msg', Date.parse(current.readUntil)))}~`,
            ':test': 'test',
            ...Object.fromEntries(current.statuses.map((s, i) => [`:s${i}`, s])),
          },
          Limit: REPLAY_PAGE,
          ConsistentRead: true,
        }),
      );
      const sources = (page.Items ?? []).filter((item) => item.sk !== current.readAfter);
      const at = this.now();
      const copies = sources.map((item, index) => copyOf(item, current, current.queued + index, at));
      for (const copy of copies) await this.repository.put(copy);
      firstQueuedId ??= copies[0]?.id;
      const readAfter = page.LastEvaluatedKey ? String(page.LastEvaluatedKey.sk) : undefined;
      const advanced = await this.advance(current, readAfter, copies.length);
      if (!advanced) return { replay: (await this.get(current.webhookId, current.replayId))!, ...(firstQueuedId && { firstQueuedId }) };
      current = advanced;
    }
    return { replay: current, ...(firstQueuedId && { firstQueuedId }) };
  }

  /** Names an unfinished replay in the webhook's backlog state, so its drain queues the rest. */
  async handToDrain(replay: Replay): Promise<void> {
    await this.state.addReplay(replay.accountId, replay.webhookId, replay.replayId);
  }

  /** The drain's part: the next pages of a replay named in the state item; unnamed once all is queued. */
  async continueFor(accountId: number, webhookId: string, replayId: string, hasTime: () => boolean): Promise<string | undefined> {
    const replay = await this.get(webhookId, replayId);
    const result = replay ? await this.queueMore(replay, hasTime) : undefined;
    if (!result || result.replay.readAfter === undefined) await this.state.removeReplay(accountId, webhookId, replayId);
    return result?.firstQueuedId;
  }

  /** Counts a replayed delivery's end: sent (accepted) or failed (given up on again). */
  async recordOutcome(delivery: Pick<Delivery, 'webhookId' | 'replayOf'>, outcome: 'sent' | 'failed'): Promise<void> {
    if (!delivery.replayOf) return;
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: this.key(delivery.webhookId, delivery.replayOf.replayId),
        UpdateExpression: 'ADD #outcome :one',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#outcome': outcome },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    ).catch((error: unknown) => {
      // The replay's record expired with the log: nothing left to count.
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
    });
  }

  private async advance(replay: Replay, readAfter: string | undefined, queued: number): Promise<Replay | undefined> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(replay.webhookId, replay.replayId),
          UpdateExpression: `${readAfter === undefined ? 'REMOVE readAfter' : 'SET readAfter = :next'} ADD queued :queued`,
          ConditionExpression: 'readAfter = :previous',
          ExpressionAttributeValues: { ':previous': replay.readAfter, ':queued': queued, ...(readAfter !== undefined && { ':next': readAfter }) },
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
    const { readAfter: _previous, ...rest } = replay;
    return { ...rest, ...(readAfter !== undefined && { readAfter }), queued: replay.queued + queued };
  }

  private toItem(replay: Replay): Record<string, unknown> {
    return { ...this.key(replay.webhookId, replay.replayId), ...replay, expiresAt: Math.floor(this.now().getTime() / 1000) + this.logTtlDays * SECONDS_PER_DAY };
  }

  private key(webhookId: string, replayId: string) {
    return { pk: keys.webhook(webhookId), sk: keys.replay(replayId) };
  }
}

/**
 * The copy of a source delivery that a replay queues: a new PENDING delivery ordered after
 * everything before the replay began (its time part is the replay's start plus its position), with
 * the source's events and the original `webhook-id`.
 */
function copyOf(item: Record<string, unknown>, replay: Replay, position: number, at: Date): Delivery {
  const sourceId = String(item.id);
  const original = (item.replayOf as Delivery['replayOf'])?.deliveryId ?? sourceId;
  return {
    id: derivedId('msg', replay.startedAt + position, `${replay.replayId}\n${sourceId}`),
    webhookId: replay.webhookId,
    accountId: replay.accountId,
    kind: item.kind as Delivery['kind'],
    status: 'PENDING',
    events: JSON.parse(String(item.events)) as Delivery['events'],
    attemptCount: 0,
    attempts: [],
    firstArrivedAt: at.getTime(),
    createdAt: at.toISOString(),
    updatedAt: at.toISOString(),
    redeliveries: 0,
    replayOf: { deliveryId: original, replayId: replay.replayId },
  };
}

function fromItem(item: Record<string, unknown>): Replay {
  const { pk: _pk, sk: _sk, expiresAt: _ttl, ...replay } = item;
  return replay as unknown as Replay;
}

