import { useState } from 'preact/hooks';
import { ProblemError, type CatalogueEvent, type CreatedWebhook, type FieldError, type Webhook } from './api';
import { ErrorBanner, navigate, Page, ScopeNote, useAction, useLoad, useSession } from './ui';

/** Add or edit a webhook: the product page's form, with the API's field errors beside each field. */
type AuthType = 'NONE' | 'BASIC' | 'SIGNATURE';
type FieldName = 'name' | 'description' | 'targetUrl' | 'auth' | 'username' | 'password' | 'events' | 'active';

interface FormState {
  name: string;
  description: string;
  targetUrl: string;
  authType: AuthType;
  username: string;
  password: string;
  events: string[];
  active: boolean;
}

const EMPTY: FormState = { name: '', description: '', targetUrl: '', authType: 'SIGNATURE', username: '', password: '', events: [], active: true };

export function WebhookFormScreen({ id }: { id?: string }) {
  const { api } = useSession();
  const existing = useLoad(() => (id ? api.get<Webhook>(`/webhooks/${id}`) : Promise.resolve(undefined)), [id]);
  if (id && !existing.data) {
    return (
      <Page title="Edit webhook" back={{ href: `#/webhooks/${id}`, label: 'Back to the webhook' }}>
        <ErrorBanner error={existing.error} />
        {existing.loading && <p class="muted">Loading…</p>}
      </Page>
    );
  }
  return <WebhookForm existing={existing.data} />;
}

function fromWebhook(webhook: Webhook): FormState {
  return {
    name: webhook.name,
    description: webhook.description ?? '',
    targetUrl: webhook.targetUrl,
    authType: webhook.auth.type,
    username: webhook.auth.type === 'BASIC' ? webhook.auth.username : '',
    password: '',
    events: [...webhook.events],
    active: webhook.status === 'ACTIVE',
  };
}

/** The API names fields by path (`auth.password`, `events.2`); the form shows them beside its inputs. */
function fieldOf(error: FieldError): FieldName | undefined {
  const [head, sub] = error.field.split('.');
  if (head === 'auth') return sub === 'username' || sub === 'password' ? sub : 'auth';
  return (['name', 'description', 'targetUrl', 'events', 'active'] as const).find((f) => f === head);
}

function WebhookForm({ existing }: { existing?: Webhook }) {
  const { api, catalogue, revealSecret, can } = useSession();
  const original = existing ? fromWebhook(existing) : EMPTY;
  const [form, setForm] = useState<FormState>(original);
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<FieldName, string>>>({});
  const save = useAction();
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => setForm((f) => ({ ...f, [key]: value }));

  const authChanged = !existing || form.authType !== original.authType || form.username !== original.username || form.password !== '';

  const submit = (event: Event) => {
    event.preventDefault();
    void save.run(async () => {
      setFieldErrors({});
      if (existing && form.authType === 'BASIC' && authChanged && form.password === '') {
        setFieldErrors({ password: 'Enter the password: it is needed to change Basic credentials.' });
        throw new ProblemError(400, 'Invalid request', 'Fix the fields marked below.');
      }
      const auth = form.authType === 'BASIC' ? { type: 'BASIC', username: form.username, password: form.password } : { type: form.authType };
      const body = {
        name: form.name,
        ...(form.description !== '' || existing?.description ? { description: form.description } : {}),
        targetUrl: form.targetUrl,
        ...(authChanged && { auth }),
        events: form.events,
        active: form.active,
      };
      try {
        const saved = existing
          ? await api.call<CreatedWebhook>('PATCH', `/webhooks/${existing.id}`, body)
          : await api.call<CreatedWebhook>('POST', '/webhooks', body);
        if (saved.signingSecret) revealSecret({ webhookId: saved.id, secret: saved.signingSecret });
        navigate(`/webhooks/${saved.id}`);
      } catch (error) {
        if (error instanceof ProblemError && error.errors.length > 0) {
          const byField: Partial<Record<FieldName, string>> = {};
          const unplaced: string[] = [];
          for (const fieldError of error.errors) {
            const field = fieldOf(fieldError);
            if (field) byField[field] ??= fieldError.message;
            else unplaced.push(`${fieldError.field}: ${fieldError.message}`);
          }
          setFieldErrors(byField);
          throw new ProblemError(error.status, error.title, unplaced.length > 0 ? unplaced.join(' · ') : 'Fix the fields marked below.');
        }
        throw error;
      }
    });
  };

  const title = existing ? `Edit ${existing.name}` : 'Add webhook';
  return (
    <Page title={title} back={existing ? { href: `#/webhooks/${existing.id}`, label: 'Back to the webhook' } : { href: '#/', label: 'All webhooks' }}>
      <form class="form" onSubmit={submit} noValidate>
        <ScopeNote needs={['write']} />
        <ErrorBanner error={save.error} />
        <TextField label="Name" name="name" value={form.name} onInput={(v) => set('name', v)} error={fieldErrors.name} maxLength={100} required />
        <TextField
          label="Description"
          name="description"
          value={form.description}
          onInput={(v) => set('description', v)}
          error={fieldErrors.description}
          maxLength={500}
          multiline
          hint="Optional: what this webhook is for."
        />
        <TextField
          label="Target URL"
          name="targetUrl"
          value={form.targetUrl}
          onInput={(v) => set('targetUrl', v)}
          error={fieldErrors.targetUrl}
          hint="Your listener: events are POSTed here as JSON."
          placeholder="https://hooks.example.com/lms"
          inputMode="url"
          required
        />

        <fieldset class="field" aria-describedby={fieldErrors.auth ? 'auth-error' : undefined}>
          <legend>Authentication</legend>
          {(
            [
              ['NONE', 'None', 'The listener accepts requests without credentials.'],
              ['BASIC', 'Basic', 'Each request carries a user name and password (HTTP Basic).'],
              ['SIGNATURE', 'Signature', 'Each request is signed (Standard Webhooks); download the signature JSON to verify it.'],
            ] as const
          ).map(([value, label, hint]) => (
            <label class="choice" key={value}>
              <input type="radio" name="authType" value={value} checked={form.authType === value} onChange={() => set('authType', value)} />
              <span>
                <strong>{label}</strong>
                <span class="hint">{hint}</span>
              </span>
            </label>
          ))}
          {fieldErrors.auth && (
            <p class="field-error" id="auth-error">
              {fieldErrors.auth}
            </p>
          )}
        </fieldset>
        {form.authType === 'BASIC' && (
          <div class="indent">
            <TextField label="User name" name="username" value={form.username} onInput={(v) => set('username', v)} error={fieldErrors.username} autoComplete="off" required />
            <TextField
              label="Password"
              name="password"
              type="password"
              value={form.password}
              onInput={(v) => set('password', v)}
              error={fieldErrors.password}
              autoComplete="new-password"
              hint={existing?.auth.type === 'BASIC' ? 'Stored write-only. Leave empty to keep the current password.' : 'Stored write-only: it is never shown again.'}
              required={existing?.auth.type !== 'BASIC'}
            />
          </div>
        )}
        {form.authType === 'SIGNATURE' && !(existing?.auth.type === 'SIGNATURE') && (
          <p class="hint indent">A signing secret is created when you save. It is shown once, with the signature JSON to download.</p>
        )}

        <EventPicker catalogue={catalogue} selected={form.events} onChange={(events) => set('events', events)} error={fieldErrors.events} />

        <label class="switch">
          <input type="checkbox" name="active" checked={form.active} onChange={(e) => set('active', e.currentTarget.checked)} />
          <span>
            <strong>Active</strong>
            <span class="hint">Deliver events as they happen. Inactive webhooks receive nothing.</span>
          </span>
        </label>

        <div class="actions">
          <button type="submit" class="primary" disabled={save.busy || !can.write}>
            {existing ? 'Save changes' : 'Add webhook'}
          </button>
          <a class="button" href={existing ? `#/webhooks/${existing.id}` : '#/'}>
            Cancel
          </a>
        </div>
      </form>
    </Page>
  );
}

function TextField(props: {
  label: string;
  name: FieldName;
  value: string;
  onInput: (value: string) => void;
  error?: string;
  hint?: string;
  multiline?: boolean;
  type?: 'text' | 'password';
  maxLength?: number;
  placeholder?: string;
  inputMode?: 'url';
  autoComplete?: string;
  required?: boolean;
}) {
  const id = `field-${props.name}`;
  const describedBy = [props.hint && `${id}-hint`, props.error && `${id}-error`].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    name: props.name,
    value: props.value,
    maxLength: props.maxLength,
    placeholder: props.placeholder,
    'aria-invalid': props.error ? true : undefined,
    'aria-describedby': describedBy,
    'aria-required': props.required || undefined,
    onInput: (e: Event) => props.onInput((e.currentTarget as HTMLInputElement).value),
  };
  return (
    <div class={`field${props.error ? ' invalid' : ''}`}>
      <label for={id}>
        {props.label}
        {props.required && <span class="required"> (required)</span>}
      </label>
      {props.multiline ? (
        <textarea rows={2} {...common} />
      ) : props.type === 'password' ? (
        <input type="password" autoComplete={props.autoComplete} {...common} />
      ) : (
        <input type="text" inputMode={props.inputMode} autoComplete={props.autoComplete} {...common} />
      )}
      {props.hint && (
        <p class="hint" id={`${id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.error && (
        <p class="field-error" id={`${id}-error`}>
          {props.error}
        </p>
      )}
    </div>
  );
}

const GROUPS = [
  { delivery: 'realtime', title: 'Real-time events', hint: 'Sent as each event happens, one event per request.' },
  { delivery: 'batch', title: 'Batch events', hint: 'Collected and sent together on the batch schedule.' },
] as const;

function EventPicker({ catalogue, selected, onChange, error }: { catalogue: CatalogueEvent[]; selected: string[]; onChange: (events: string[]) => void; error?: string }) {
  const toggle = (name: string, on: boolean) => onChange(on ? [...selected, name] : selected.filter((n) => n !== name));
  return (
    <fieldset class={`field events${error ? ' invalid' : ''}`} aria-describedby={error ? 'events-error' : undefined}>
      <legend>
        Trigger events <span class="required">(at least one)</span>
      </legend>
      {error && (
        <p class="field-error" id="events-error">
          {error}
        </p>
      )}
      <div class="event-groups">
        {GROUPS.map((group) => {
          const events = catalogue.filter((e) => e.delivery === group.delivery);
          const names = events.map((e) => e.name);
          const all = names.every((n) => selected.includes(n));
          return (
            <fieldset class="event-group" key={group.delivery}>
              <legend>
                {group.title} <span class="muted">({names.filter((n) => selected.includes(n)).length} of {names.length})</span>
              </legend>
              <p class="hint">{group.hint}</p>
              <button type="button" class="link" onClick={() => onChange(all ? selected.filter((n) => !names.includes(n)) : [...new Set([...selected, ...names])])}>
                {all ? 'Clear all' : 'Select all'} {group.delivery === 'batch' ? 'batch' : 'real-time'} events
              </button>
              <ul class="event-list">
                {events.map((event) => (
                  <li key={event.name}>
                    <label class="choice">
                      <input type="checkbox" name="events" value={event.name} checked={selected.includes(event.name)} onChange={(e) => toggle(event.name, e.currentTarget.checked)} />
                      <span>
                        <code>{event.name}</code>
                        <span class="hint">{event.description}</span>
                      </span>
                    </label>
                  </li>
                ))}
              </ul>
            </fieldset>
          );
        })}
      </div>
    </fieldset>
  );
}
