import { readFile } from 'node:fs/promises';
import { get, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { startBrowser, type TestBrowser } from './support/browser';
import { eventually } from './support/eventually';
import { startListener, type TestListener } from './support/listener';
import { producer } from './support/producer';
import { startTestRuntime, type TestRuntime } from './support/runtime';

/**
 * The admin console in headless Chromium against the local runtime and a real listener: every
 * screen of the product page, driven the way an admin would, with a screenshot of each.
 */
const ACCOUNT = 1010;
const LIMIT = 3;

let runtime: TestRuntime;
let listener: TestListener;
let browser: TestBrowser;
let page: Page;
let lms: ReturnType<typeof producer>;

beforeAll(async () => {
  listener = await startListener();
  listener.respond(() => ({ status: 200, body: 'thanks from the listener' }));
  runtime = await startTestRuntime({ MAX_WEBHOOKS_PER_ACCOUNT: String(LIMIT), RETRY_DELAYS_SECONDS: '1', RETRY_WINDOW_SECONDS: '2' });
  lms = producer(runtime.eventsUrl);
  browser = await startBrowser();
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: runtime.apiUrl });
  page = await browser.newPage();
  page.setDefaultTimeout(10_000);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  lms?.close();
  await runtime?.stop();
  await listener?.close();
});

const heading = (name: string | RegExp) => page.getByRole('heading', { level: 1, name });

async function openCreateForm(): Promise<void> {
  await page.goto(`${runtime.apiUrl}/console#/new`);
  await heading('Add webhook').waitFor();
}

/** Fills the add form: one real-time and one batch event unless told otherwise. */
async function fillWebhook(options: { name: string; targetUrl: string; auth: 'None' | 'Basic' | 'Signature'; events?: string[] }): Promise<void> {
  await page.getByRole('textbox', { name: /^Name\b/ }).fill(options.name);
  await page.getByLabel('Target URL').fill(options.targetUrl);
  await page.getByRole('radio', { name: new RegExp(`^${options.auth}\\b`) }).check();
  if (options.auth === 'Basic') {
    await page.getByRole('textbox', { name: /^User name/ }).fill('hr-sync');
    await page.getByLabel(/^Password/).fill('s3cret-password');
  }
  for (const event of options.events ?? ['COURSE_COMPLETED', 'COURSE_ENROLLMENT_BATCH']) {
    await page.getByRole('checkbox', { name: new RegExp(`^${event}\\b`) }).check();
  }
}

async function createWebhook(options: Parameters<typeof fillWebhook>[0]): Promise<string> {
  await openCreateForm();
  await fillWebhook(options);
  await page.getByRole('button', { name: 'Add webhook' }).click();
  await heading(new RegExp(options.name)).waitFor();
  return /#\/webhooks\/([^/]+)$/.exec(page.url())![1]!;
}

/** Every form control and button has an accessible name. */
async function unlabelledControls(): Promise<string[]> {
  return page.evaluate(`[...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.textContent.trim()))
    .map((el) => el.outerHTML.slice(0, 120))`);
}

/** How far the page scrolls sideways: 0 when it fits the viewport. */
function horizontalOverflow(): Promise<number> {
  return page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
}

async function downloadSignature(button: string): Promise<{ filename: string; document: { secrets?: string[] } & Record<string, unknown> }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button }).first().click()]);
  const body = await readFile((await download.path())!, 'utf8');
  return { filename: download.suggestedFilename(), document: JSON.parse(body) as { secrets?: string[] } };
}

/** The bytes as sent (fetch would decode gzip). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

let signatureId: string;

describe('admin console', () => {
  it('is served with a strict CSP and fits the size budget', async () => {
    const response = await fetch(`${runtime.apiUrl}/console`);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    let total = Buffer.byteLength(await response.text());
    for (const file of ['app.js', 'app.css']) {
      const asset = await rawGet(`${runtime.apiUrl}/console/${file}`, { 'accept-encoding': 'gzip' });
      expect(asset.status).toBe(200);
      expect(asset.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(asset.body).length).toBeGreaterThan(asset.body.length);
      total += asset.body.length;
    }
    expect(total).toBeLessThan(100 * 1024);
    expect((await rawGet(`${runtime.apiUrl}/console/app.js`, {})).headers['content-encoding']).toBeUndefined();
    expect((await fetch(`${runtime.apiUrl}/console/secrets.txt`)).status).toBe(404);
  });

  it('signs in from the URL the runtime prints, and drops the token from the address bar', async () => {
    const token = await runtime.tokenFor(ACCOUNT);
    await page.goto(`${runtime.apiUrl}/console#token=${token}`);
    await heading('Webhooks').waitFor();
    expect(page.url()).toBe(`${runtime.apiUrl}/console`);
    await page.getByRole('heading', { name: 'No webhooks yet' }).waitFor();
    await page.getByText(`0 of ${LIMIT} webhooks`).waitFor();
    await browser.screenshot(page, '01-webhooks-empty');
  });

  it('accepts a pasted token too', async () => {
    await page.goto(`${runtime.apiUrl}/console`);
    await heading('Sign in').waitFor();
    await page.getByLabel('Admin token').fill(await runtime.tokenFor(ACCOUNT));
    await browser.screenshot(page, '00-sign-in');
    await page.getByRole('button', { name: 'Use this token' }).click();
    await heading('Webhooks').waitFor();
  });

  it('sends the admin back to sign-in when the API refuses the token', async () => {
    await page.goto(`${runtime.apiUrl}/console#token=not-a-token`);
    await page.getByRole('alert').filter({ hasText: 'Your session has ended or the token was refused. Sign in again.' }).waitFor();
    await heading('Sign in').waitFor();
    expect(await page.getByRole('alert').count()).toBe(1);
    await page.getByLabel('Admin token').fill(await runtime.tokenFor(ACCOUNT));
    await page.getByRole('button', { name: 'Use this token' }).click();
    await heading('Webhooks').waitFor();
  });

  it('shows the API’s field error next to the field for a bad URL', async () => {
    await openCreateForm();
    expect(await unlabelledControls()).toEqual([]);
    await fillWebhook({ name: 'Broken', targetUrl: 'not a url', auth: 'None' });
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const error = page.locator('#field-targetUrl-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/url/i);
    expect(await page.getByLabel('Target URL').getAttribute('aria-invalid')).toBe('true');
    await browser.screenshot(page, '02-add-webhook-field-error');
  });

  it('creates a Signature webhook with events of both groups, shows the secret once and downloads the signature JSON', async () => {
    signatureId = await createWebhook({ name: 'HR sync', targetUrl: listener.url, auth: 'Signature' });
    const secret = (await page.locator('#signing-secret').textContent())!;
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Copied.').waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);
    await browser.screenshot(page, '03-signature-secret-once');

    const { filename, document } = await downloadSignature('Download signature JSON');
    expect(filename).toBe(`webhook-${signatureId}-signature.json`);
    expect(JSON.stringify(document)).toContain(secret);

    const created = (await (await runtime.api(`/webhooks/${signatureId}`)).json()) as { events: string[]; auth: { type: string } };
    expect(created.auth.type).toBe('SIGNATURE');
    expect(created.events.sort()).toEqual(['COURSE_COMPLETED', 'COURSE_ENROLLMENT_BATCH']);

    await page.getByRole('button', { name: /I have saved it/ }).click();
    await page.locator('#signing-secret').waitFor({ state: 'detached' });
  });

  it('creates Basic and None webhooks; at the limit the list explains it and the API’s 409 is shown', async () => {
    const basicId = await createWebhook({ name: 'CRM basic', targetUrl: listener.url, auth: 'Basic', events: ['COURSE_ENROLLMENT', 'COURSE_COMPLETED_BATCH'] });
    const basic = (await (await runtime.api(`/webhooks/${basicId}`)).json()) as { auth: { type: string; username: string; password?: string } };
    expect(basic.auth).toEqual({ type: 'BASIC', username: 'hr-sync' });
    await createWebhook({ name: 'Reports none', targetUrl: listener.url, auth: 'None', events: ['LEARNING_PATH_COMPLETED', 'LEARNING_PATH_ENROLLMENT_BATCH'] });

    await page.getByRole('link', { name: 'All webhooks' }).click();
    await heading('Webhooks').waitFor();
    await page.getByText(`${LIMIT} of ${LIMIT} webhooks`).waitFor();
    await page.getByText(/reached its limit of 3 webhooks/).waitFor();
    expect(await page.getByRole('button', { name: 'Add webhook' }).isDisabled()).toBe(true);
    const rows = page.getByRole('table', { name: 'Webhooks' }).locator('tbody tr');
    expect(await rows.count()).toBe(3);
    expect(await rows.filter({ hasText: 'CRM basic' }).textContent()).toContain('Basic');
    expect(await rows.filter({ hasText: 'Reports none' }).textContent()).toContain('None');
    expect(await rows.filter({ hasText: 'HR sync' }).textContent()).toMatch(/Signature.*2.*Active/);
    await rows.filter({ hasText: 'HR sync' }).getByText(/pending · next/).waitFor();
    expect(await unlabelledControls()).toEqual([]);
    await browser.screenshot(page, '04-webhooks-at-limit');

    // Straight to the form anyway: the API refuses, and the console says why.
    await openCreateForm();
    await fillWebhook({ name: 'One too many', targetUrl: listener.url, auth: 'None' });
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await page.getByRole('alert').filter({ hasText: /at most 3|limit|maximum/i }).waitFor();
  });

  it('tests a webhook and shows status, latency and the response', async () => {
    await page.goto(`${runtime.apiUrl}/console#/webhooks/${signatureId}`);
    await heading(/HR sync/).waitFor();
    await page.getByRole('button', { name: 'Send test event' }).click();
    const outcome = page.getByRole('status').filter({ hasText: 'Test event delivered' });
    await outcome.waitFor();
    expect(await outcome.textContent()).toMatch(/Response status200.*Latency\d+ ms.*thanks from the listener/);
    await browser.screenshot(page, '05-test-result');
  });

  it('deactivates and reactivates', async () => {
    await page.getByRole('button', { name: 'Deactivate', exact: true }).click();
    await heading(/HR sync/).getByText('Inactive', { exact: true }).waitFor();
    expect(((await (await runtime.api(`/webhooks/${signatureId}`)).json()) as { status: string }).status).toBe('INACTIVE');
    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    await heading(/HR sync/).getByText('Active', { exact: true }).waitFor();
    expect(((await (await runtime.api(`/webhooks/${signatureId}`)).json()) as { status: string }).status).toBe('ACTIVE');
  });

  it('finds a delivered event in the log with its attempts, and redelivers it', async () => {
    listener.received.splice(0);
    await lms.put([lms.entry('COURSE_COMPLETED', { accountId: ACCOUNT, data: { userId: 7, loId: 'course:1', loInstanceId: 'course:1_1', loType: 'course', hasPassed: true } })]);
    const [delivered] = await listener.waitFor(1);

    const realtimeRow = page.getByRole('table', { name: /Deliveries/ }).locator('tbody tr').filter({ hasText: 'Real-time' });
    await eventually(
      async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return realtimeRow.filter({ hasText: 'Succeeded' }).count();
      },
      (count) => count === 1,
    );
    await page.getByLabel('Status').selectOption('FAILED');
    await page.getByText('No deliveries with this status.').waitFor();
    await page.getByLabel('Status').selectOption('SUCCEEDED');
    await realtimeRow.waitFor();
    expect(await unlabelledControls()).toEqual([]);
    await browser.screenshot(page, '06-delivery-log');

    await realtimeRow.getByRole('link').click();
    await heading(/Delivery/).waitFor();
    const attempts = page.getByRole('table', { name: 'Attempts' }).locator('tbody tr');
    await attempts.first().waitFor();
    expect(await attempts.count()).toBe(1);
    expect(await attempts.first().textContent()).toMatch(/1.*200.*\d+ ms.*thanks from the listener/);
    await browser.screenshot(page, '07-delivery-attempts');

    await page.getByRole('button', { name: 'Redeliver' }).click();
    await page.getByText(/Queued again/).waitFor();
    const [, again] = await listener.waitFor(2);
    expect(again!.headers['webhook-id']).toBe(delivered!.headers['webhook-id']);
  });

  it('pages through the delivery log, newest first', async () => {
    // With the test and the real-time delivery above, ten more tests make a second page of ten.
    for (let i = 0; i < 10; i += 1) expect((await runtime.api(`/webhooks/${signatureId}/test`, { method: 'POST' })).status).toBe(200);
    await page.goto(`${runtime.apiUrl}/console#/webhooks/${signatureId}`);
    const rows = page.getByRole('table', { name: /Deliveries/ }).locator('tbody tr');
    await page.getByText('Page 1').waitFor();
    expect(await rows.count()).toBe(10);
    expect(await rows.first().textContent()).toContain('Test');
    await page.getByRole('button', { name: 'Older' }).click();
    await page.getByText('Page 2').waitFor();
    await rows.filter({ hasText: 'Real-time' }).waitFor();
    expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Newer' }).click();
    await page.getByText('Page 1').waitFor();
  });

  it('rotates the secret and downloads a signature JSON with both secrets', async () => {
    await page.goto(`${runtime.apiUrl}/console#/webhooks/${signatureId}`);
    await heading(/HR sync/).waitFor();
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.getByText(/previous secret keeps signing/).waitFor();
    const secret = (await page.locator('#signing-secret').textContent())!;
    expect(secret).toMatch(/^whsec_/);
    await browser.screenshot(page, '08-rotated-secret');
    const { document } = await downloadSignature('Download signature JSON');
    expect(JSON.stringify(document)).toContain(secret);
  });

  it('edits a webhook, keeping a Basic password that is left empty', async () => {
    await page.goto(`${runtime.apiUrl}/console#/`);
    await page.getByRole('link', { name: 'CRM basic' }).click();
    await heading(/CRM basic/).waitFor();
    await page.getByRole('link', { name: 'Edit' }).click();
    await heading('Edit CRM basic').waitFor();
    expect(await page.getByLabel(/^Password/).inputValue()).toBe('');
    expect(await page.getByRole('checkbox', { name: /^COURSE_COMPLETED_BATCH\b/ }).isChecked()).toBe(true);
    await page.getByRole('textbox', { name: /^Name\b/ }).fill('CRM (basic auth)');
    await browser.screenshot(page, '09-edit-webhook');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await heading(/CRM \(basic auth\)/).waitFor();
    await page.getByText('user hr-sync').waitFor();
  });

  it('deletes after confirming', async () => {
    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: /Delete CRM/ });
    await dialog.waitFor();
    await browser.screenshot(page, '10-delete-confirm');
    await dialog.getByRole('button', { name: 'Delete webhook' }).click();
    await heading('Webhooks').waitFor();
    await page.getByText(`2 of ${LIMIT} webhooks`).waitFor();
    expect(await page.getByRole('link', { name: /CRM/ }).count()).toBe(0);
  });

  it('shows a webhook disabled for failing, with the reason, the failed attempts and a way back', async () => {
    listener.respond((request) => (request.path.endsWith('/failing') ? { status: 503, body: 'down for maintenance' } : { status: 200 }));
    const created = await runtime.api('/webhooks', {
      method: 'POST',
      body: JSON.stringify({ name: 'Flaky LMS sync', targetUrl: `${listener.url}/failing`, auth: { type: 'NONE' }, events: ['CERTIFICATION_COMPLETED'] }),
    });
    const { id } = (await created.json()) as { id: string };
    // The router sees a new webhook once its short per-account cache expires: put the same event
    // (one eventId, so it is delivered once) until the webhook has a delivery.
    const certified = lms.entry('CERTIFICATION_COMPLETED', {
      accountId: ACCOUNT,
      eventId: `certified-${id}`,
      data: { userId: 9, loId: 'certification:1', loInstanceId: 'certification:1_1', loType: 'certification' },
    });
    await eventually(
      async () => {
        await lms.put([certified]);
        return ((await (await runtime.api(`/webhooks/${id}/deliveries`)).json()) as { items: unknown[] }).items.length;
      },
      (count) => count > 0,
    );
    await eventually(
      async () => ((await (await runtime.api(`/webhooks/${id}`)).json()) as { status: string }).status,
      (status) => status === 'DISABLED',
    );

    // The list is already open (the delete above ended there): reach it anew through a link.
    await page.goto(`${runtime.apiUrl}/console#/webhooks/${id}`);
    await page.getByRole('link', { name: 'All webhooks' }).click();
    const row = page.getByRole('table', { name: 'Webhooks' }).locator('tbody tr').filter({ hasText: 'Flaky LMS sync' });
    await row.getByText('Disabled', { exact: true }).waitFor();
    expect(await row.textContent()).toMatch(/failed: .*503/);
    await browser.screenshot(page, '15-webhooks-disabled');

    await row.getByRole('link').click();
    await page.getByRole('note').filter({ hasText: /^Disabled: delivery .* failed/ }).waitFor();
    // Its health: every attempt so far failed.
    expect(await page.locator('#webhook-health').textContent()).toMatch(/^0% of \d+ attempts succeeded in the last 24 h.*last success never/);
    await page.getByLabel('Status').selectOption('FAILED');
    await page.getByRole('table', { name: /Deliveries/ }).locator('tbody tr').filter({ hasText: 'Failed' }).getByRole('link').click();
    const attempts = page.getByRole('table', { name: 'Attempts' }).locator('tbody tr');
    await attempts.first().waitFor();
    expect(await attempts.first().textContent()).toMatch(/503.*down for maintenance/);
    await browser.screenshot(page, '16-failed-delivery');

    // Fixed: activating again sends what failed first (and what was held meanwhile); it can be redelivered again.
    listener.respond(() => ({ status: 200 }));
    const failingRequests = () => listener.received.filter((r) => r.path.endsWith('/failing')).length;
    const beforeActivate = failingRequests();
    await page.getByRole('link', { name: 'Back to the webhook' }).click();
    await page.getByRole('button', { name: /^Activate( and send \d+ held)?$/ }).click();
    await heading(/Flaky LMS sync/).getByText('Active', { exact: true }).waitFor();
    await eventually(async () => failingRequests(), (count) => count > beforeActivate);
    await page.getByLabel('Status').selectOption('SUCCEEDED');
    await page.getByRole('table', { name: /Deliveries/ }).locator('tbody tr').first().getByRole('link').click();
    const before = failingRequests();
    await page.getByRole('button', { name: 'Redeliver' }).click();
    await page.getByText(/Queued again/).waitFor();
    await eventually(
      async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        return heading(/Delivery/).getByText('Succeeded', { exact: true }).count();
      },
      (count) => count === 1,
    );
    expect(failingRequests()).toBeGreaterThan(before);
    expect((await runtime.api(`/webhooks/${id}`, { method: 'DELETE' })).status).toBe(204);
  });

  it('is keyboard-usable and fits a 360 px screen', async () => {
    await page.setViewportSize({ width: 360, height: 780 });
    await page.goto(`${runtime.apiUrl}/console#/`);
    await heading('Webhooks').waitFor();
    // From the page heading, Tab reaches "Add webhook"; Enter opens the form.
    for (let i = 0; i < 10; i += 1) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate('document.activeElement.textContent')) === 'Add webhook') break;
    }
    await page.keyboard.press('Enter');
    await heading('Add webhook').waitFor();
    expect(await horizontalOverflow()).toBeLessThanOrEqual(0);
    await browser.screenshot(page, '11-add-webhook-360px');
    await page.goto(`${runtime.apiUrl}/console#/`);
    await heading('Webhooks').waitFor();
    await browser.screenshot(page, '12-webhooks-360px');
    await page.goto(`${runtime.apiUrl}/console#/webhooks/${signatureId}`);
    await page.getByRole('table', { name: /Deliveries/ }).waitFor();
    expect(await horizontalOverflow()).toBeLessThanOrEqual(0);
    await browser.screenshot(page, '13-webhook-360px');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('switches off what a read-only token may not do, and says why', async () => {
    const readOnly = await runtime.tokens.issue(ACCOUNT, { scopes: ['webhooks:read'] });
    await page.goto(`${runtime.apiUrl}/console#token=${readOnly}`);
    await heading('Webhooks').waitFor();
    await page.getByRole('note').filter({ hasText: 'does not carry webhooks:write' }).waitFor();
    expect(await page.getByRole('button', { name: 'Add webhook' }).isDisabled()).toBe(true);

    await page.getByRole('link', { name: 'HR sync' }).click();
    await page.getByRole('table', { name: /Deliveries/ }).waitFor();
    await page.getByRole('note').filter({ hasText: 'does not carry webhooks:write or webhooks:secrets' }).waitFor();
    for (const name of ['Edit', 'Deactivate', 'Send test event', 'Rotate secret', 'Download signature JSON', 'Delete']) {
      expect(await page.getByRole('button', { name, exact: true }).isDisabled()).toBe(true);
    }
    await browser.screenshot(page, '17-read-only-token');
  });

  it('raised no script errors or CSP violations', () => {
    expect(browser.errors).toEqual([]);
  });
});
