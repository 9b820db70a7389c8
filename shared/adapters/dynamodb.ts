import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { lazy } from '../lazy';
import type { DocumentDb } from '../storage/document-db';

/**
 * One DynamoDB client per container, reused across invocations (connection reuse is most of a warm
 * request's latency). `AWS_ENDPOINT_URL_DYNAMODB` points it at DynamoDB Local.
 */
export const dynamoDb = /* @__PURE__ */ lazy((): DocumentDb => new CachedStackDocumentClient(new DynamoDBClient({ cacheMiddleware: true })));

/** As lib-dynamodb's document client sets them (its defaults plus dropping undefined members). */
const MARSHALL_OPTIONS = { removeUndefinedValues: true, convertTopLevelContainer: true } as const;
const UNMARSHALL_OPTIONS = { convertWithoutMapWrapper: true } as const;

/**
 * Takes lib-dynamodb's commands, as its document client does, but sends each through the base
 * client's middleware stack resolved once per command type: the document client builds a new stack
 * for every call (its handler is bound to the command), a quarter of a call's client CPU. What to
 * marshall and unmarshall is read from each command's own map of the members holding items, keys
 * and values, as lib-dynamodb reads it.
 */
export class CachedStackDocumentClient implements DocumentDb {
  constructor(private readonly client: DynamoDBClient) {}

  readonly send = (async (command: DocumentCommand) => {
    const { clientCommand, inputKeyNodes, outputKeyNodes } = command;
    if (!clientCommand || inputKeyNodes === undefined) throw new TypeError('dynamoDb() sends lib-dynamodb commands (PutCommand, QueryCommand, …), whose items it marshalls');
    const BaseCommand = clientCommand.constructor as new (input: unknown) => Parameters<DynamoDBClient['send']>[0];
    const input = processKeys(command.input, (value) => marshall(value, MARSHALL_OPTIONS), inputKeyNodes);
    const output = await this.client.send(new BaseCommand(input));
    return processKeys(output, (value) => unmarshall(value, UNMARSHALL_OPTIONS), outputKeyNodes);
  }) as unknown as DynamoDBDocumentClient['send'];
}

/** The parts of a lib-dynamodb command it marshalls by (public on the instance, if not in its types). */
interface DocumentCommand {
  readonly input: Record<string, unknown>;
  readonly clientCommand: object;
  readonly inputKeyNodes: KeyNodes;
  readonly outputKeyNodes: KeyNodes;
}

/**
 * lib-dynamodb's key maps: `null` converts the value itself, `{}` each value of a map, `[]` each
 * member of a list, `{ '*': nodes }` every entry by `nodes`, and other keys those members only.
 */
type KeyNodes = null | { readonly [key: string]: KeyNodes } | readonly KeyNodes[];
type Convert = (value: never) => unknown;

const EVERY_ENTRY = '*';

function processKeys(obj: object, convert: Convert, keyNodes: KeyNodes): Record<string, unknown> {
  const result: Record<string, unknown> = { ...obj };
  for (const [key, nodes] of Object.entries(keyNodes ?? {})) {
    const processed = processValue((obj as Record<string, unknown>)[key], convert, nodes as KeyNodes);
    if (processed !== undefined) result[key] = processed;
  }
  return result;
}

function processValue(value: unknown, convert: Convert, keyNodes: KeyNodes): unknown {
  if (value === undefined) return undefined;
  if (keyNodes === null) return convert(value as never);
  const keys = Object.keys(keyNodes);
  if (keys.length === 0) return processEvery(value, (member) => processValue(member, convert, null));
  if (keys.length === 1 && keys[0] === EVERY_ENTRY) {
    return processEvery(value, (member) => processValue(member, convert, (keyNodes as Record<string, KeyNodes>)[EVERY_ENTRY]!));
  }
  return processKeys(value as object, convert, keyNodes);
}

function processEvery(value: unknown, each: (member: unknown) => unknown): unknown {
  if (Array.isArray(value)) return value.map(each);
  const result: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value as object)) {
    const processed = each(member);
    if (processed !== undefined) result[key] = processed;
  }
  return result;
}
