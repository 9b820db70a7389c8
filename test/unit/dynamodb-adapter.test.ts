import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand as QueryItemsCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { CachedStackDocumentClient } from '../../shared/adapters/dynamodb';

/**
 * The handlers' DynamoDB adapter takes lib-dynamodb's commands and sends DynamoDB's own through a
 * cached middleware stack: what it sends and what it answers must be what the document client's
 * would be (items, keys and values marshalled; items, keys and unprocessed requests unmarshalled).
 */
const dbMock = mockClient(DynamoDBClient);
const db = new CachedStackDocumentClient(new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }));

beforeEach(() => dbMock.reset());

it('marshalls an item, leaving out undefined members, and the expression values', async () => {
  dbMock.on(PutItemCommand).resolves({ ConsumedCapacity: { TableName: 't', CapacityUnits: 1 } });
  const item = { pk: 'WEBHOOK#1', n: 1, list: [1, 'two', { three: 3 }], map: { a: null, b: true }, gone: undefined };

  const output = await db.send(new PutCommand({ TableName: 't', Item: item, ConditionExpression: 'attribute_not_exists(pk) OR v < :v', ExpressionAttributeValues: { ':v': 2 } }));

  const [call] = dbMock.commandCalls(PutItemCommand);
  expect(call!.args[0].input).toEqual({
    TableName: 't',
    Item: marshall({ pk: 'WEBHOOK#1', n: 1, list: [1, 'two', { three: 3 }], map: { a: null, b: true } }),
    ConditionExpression: 'attribute_not_exists(pk) OR v < :v',
    ExpressionAttributeValues: { ':v': { N: '2' } },
  });
  expect(output.ConsumedCapacity).toEqual({ TableName: 't', CapacityUnits: 1 });
});

it('unmarshalls old attributes of an update', async () => {
  dbMock.on(UpdateItemCommand).resolves({ Attributes: marshall({ seq: 4, fields: { a: 'b' } }) });
  const output = await db.send(new UpdateCommand({ TableName: 't', Key: { pk: 'A', sk: 'B' }, UpdateExpression: 'ADD seq :one', ExpressionAttributeValues: { ':one': 1 }, ReturnValues: 'ALL_OLD' }));
  expect(dbMock.commandCalls(UpdateItemCommand)[0]!.args[0].input.Key).toEqual({ pk: { S: 'A' }, sk: { S: 'B' } });
  expect(output.Attributes).toEqual({ seq: 4, fields: { a: 'b' } });
});

it('reads a page: items and the key to go on from, unmarshalled', async () => {
  dbMock.on(QueryItemsCommand).resolves({ Items: [marshall({ pk: 'A', sk: '1', events: '[]' })], Count: 1, LastEvaluatedKey: marshall({ pk: 'A', sk: '1' }) });
  const output = await db.send(
    new QueryCommand({ TableName: 't', KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'A' }, ExclusiveStartKey: { pk: 'A', sk: '0' } }),
  );
  expect(dbMock.commandCalls(QueryItemsCommand)[0]!.args[0].input).toMatchObject({ ExpressionAttributeValues: { ':pk': { S: 'A' } }, ExclusiveStartKey: { pk: { S: 'A' }, sk: { S: '0' } } });
  expect(output).toMatchObject({ Items: [{ pk: 'A', sk: '1', events: '[]' }], Count: 1, LastEvaluatedKey: { pk: 'A', sk: '1' } });
});

it('batch reads and writes: unprocessed requests come back as they can be sent again', async () => {
  dbMock.on(BatchGetItemCommand).resolves({ Responses: { t: [marshall({ pk: 'A', v: 1 })] }, UnprocessedKeys: { t: { Keys: [marshall({ pk: 'B' })] } } });
  dbMock.on(BatchWriteItemCommand).resolves({ UnprocessedItems: { t: [{ PutRequest: { Item: marshall({ pk: 'C', v: 2 }) } }] } });

  const read = await db.send(new BatchGetCommand({ RequestItems: { t: { Keys: [{ pk: 'A' }, { pk: 'B' }] } } }));
  const written = await db.send(new BatchWriteCommand({ RequestItems: { t: [{ PutRequest: { Item: { pk: 'C', v: 2 } } }, { DeleteRequest: { Key: { pk: 'D' } } }] } }));

  expect(dbMock.commandCalls(BatchGetItemCommand)[0]!.args[0].input.RequestItems).toEqual({ t: { Keys: [{ pk: { S: 'A' } }, { pk: { S: 'B' } }] } });
  expect(dbMock.commandCalls(BatchWriteItemCommand)[0]!.args[0].input.RequestItems).toEqual({
    t: [{ PutRequest: { Item: { pk: { S: 'C' }, v: { N: '2' } } } }, { DeleteRequest: { Key: { pk: { S: 'D' } } } }],
  });
  expect(read.Responses).toEqual({ t: [{ pk: 'A', v: 1 }] });
  expect(read.UnprocessedKeys).toEqual({ t: { Keys: [{ pk: 'B' }] } });
  expect(written.UnprocessedItems).toEqual({ t: [{ PutRequest: { Item: { pk: 'C', v: 2 } } }] });
});

it('marshalls every kind of transaction item', async () => {
  dbMock.on(TransactWriteItemsCommand).resolves({});
  await db.send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: 't', Item: { pk: 'A', n: 1 } } },
        { Update: { TableName: 't', Key: { pk: 'B' }, UpdateExpression: 'SET n = :n', ExpressionAttributeValues: { ':n': 2 } } },
        { Delete: { TableName: 't', Key: { pk: 'C' } } },
        { ConditionCheck: { TableName: 't', Key: { pk: 'D' }, ConditionExpression: 'v = :v', ExpressionAttributeValues: { ':v': 'x' } } },
      ],
    }),
  );
  expect(dbMock.commandCalls(TransactWriteItemsCommand)[0]!.args[0].input.TransactItems).toEqual([
    { Put: { TableName: 't', Item: { pk: { S: 'A' }, n: { N: '1' } } } },
    { Update: { TableName: 't', Key: { pk: { S: 'B' } }, UpdateExpression: 'SET n = :n', ExpressionAttributeValues: { ':n': { N: '2' } } } },
    { Delete: { TableName: 't', Key: { pk: { S: 'C' } } } },
    { ConditionCheck: { TableName: 't', Key: { pk: { S: 'D' } }, ConditionExpression: 'v = :v', ExpressionAttributeValues: { ':v': { S: 'x' } } } },
  ]);
});

it('refuses a command that is not a document command, saying which it takes', async () => {
  const send = db.send as unknown as (command: unknown) => Promise<unknown>;
  await expect(send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'A' } } }))).rejects.toThrow(/lib-dynamodb commands/);
  expect(dbMock.calls()).toEqual([]);
});
