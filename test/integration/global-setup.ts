import { PrerequisiteError, startDynamoDbLocal } from '../../infra/local/dynamodb-local';
import { prepareChromium } from './support/browser';

/**
 * Checks the prerequisites (the console tests' browser, Java), then starts one in-memory DynamoDB
 * Local for the integration suite; each test file creates its own table.
 */
export default async function globalSetup(): Promise<void> {
  try {
    await prepareChromium();
    const db = await startDynamoDbLocal({ quickStart: true });
    process.env.AWS_ENDPOINT_URL_DYNAMODB = db.endpoint;
    (globalThis as { __dynamoDbLocal?: typeof db }).__dynamoDbLocal = db;
  } catch (error) {
    if (!(error instanceof PrerequisiteError)) throw error;
    // One line saying what to install, instead of jest's stack trace before any test has run.
    console.error(error.message);
    process.exit(1);
  }
}
