// A webhook listener that verifies Standard Webhooks signatures with the stock library.
// WEBHOOK_SECRET=whsec_... PORT=4000 node examples/listener.mjs
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  console.error('Set WEBHOOK_SECRET to the whsec_… secret of the webhook (from its create answer or GET /webhooks/{id}/signature).');
  process.exit(2);
}
const verifier = new Webhook(secret);
const seen = new Set(); // deliveries can repeat (retries after a slow answer): dedupe by eventId

createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    let envelope;
    try {
      envelope = verifier.verify(body, req.headers); // throws unless signed by a live secret within 5 minutes
    } catch (error) {
      console.log(`refused ${req.headers['webhook-id']}: ${error.message}`);
      res.writeHead(401).end();
      return;
    }
    res.writeHead(202).end(); // acknowledge at once, work afterwards
    for (const event of envelope.events) {
      if (seen.has(event.eventId)) continue;
      seen.add(event.eventId);
      console.log(`${event.eventName} ${event.eventId} account ${envelope.accountId}`, JSON.stringify(event.data));
    }
  });
}).listen(Number(process.env.PORT ?? 4000), '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${process.env.PORT ?? 4000}/hooks`));
