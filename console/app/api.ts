import type { WebhookView } from '../../shared/webhooks/model';

/** The admin API as the console calls it: same origin, the admin's bearer token, problem+json errors. */
export type { WebhookView };
/** As in shared/deliveries/model.ts (not imported: that module's helpers need Node). */
export interface DeliveryView {
  id: string;
  webhookId: string;
  kind: 'realtime' | 'batch' | 'test';
  status: 'PENDING' | 'SUCCEEDED' | 'FAILED' | 'SKIPPED' | 'HELD';
  statusReason?: string;
  eventIds: string[];
  attemptCount: number;
  createdAt: string;
  updatedAt: string;
  nextAttemptAt?: string;
}
export interface CatalogueEvent {
  name: string;
  delivery: 'realtime' | 'batch';
  description: string;
  dataFields: string[];
}
export type Webhook = WebhookView;
export interface Page<T> {
  items: T[];
  nextToken?: string;
}
export interface Attempt {
  number: number;
  at: string;
  statusCode?: number;
  durationMs: number;
  error?: string;
  responseBody?: string;
}
export type DeliveryDetail = DeliveryView & { attempts: Attempt[] };
export interface TestResult {
  delivered: boolean;
  statusCode: number | null;
  durationMs: number;
  responseBody: string | null;
  error: string | null;
  deliveryId: string;
}
export type CreatedWebhook = Webhook & { signingSecret?: string };

export interface FieldError {
  field: string;
  message: string;
}

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail);
  }
}

export class Api {
  private readonly base = new URL('.', location.href);

  constructor(
    private readonly token: string,
    /** Called on 401: the token expired or was refused. */
    private readonly onUnauthorized: () => void,
  ) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }

  /** A file answer (the signature JSON) handed to the browser as a download. */
  async download(path: string): Promise<void> {
    const response = await this.send('GET', path);
    const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? 'download.json';
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(new URL(path.replace(/^\//, ''), this.base), {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    } catch {
      throw new ProblemError(0, 'Network error', 'The service did not answer. Check your connection and try again.');
    }
    if (response.ok) return response;
    if (response.status === 401) this.onUnauthorized();
    const problem = (await response.json().catch(() => ({}))) as { title?: string; detail?: string; errors?: FieldError[] };
    throw new ProblemError(response.status, problem.title ?? `HTTP ${response.status}`, problem.detail ?? response.statusText, problem.errors ?? []);
  }
}
