// The workspace's identity secret (owners only): a site's server signs a visitor's user id with it
// (userHash = hex HMAC-SHA256(secret, userId)) so the web inbox shows that visitor only their own
// messages. Hidden until asked for; rotating refuses hashes made with the old one at once.
import { useState } from 'react';
import type { Client } from 'openapi-fetch';

import { api, errorMessage, ok } from '../../api/client';
import { Button, Dialog, ErrorBanner } from '../../components/ui';

// GET|POST /workspace/identity-secret is not in the generated schema yet: its one operation
// typed here, on the same client (session, CSRF and workspace headers).
type Answer = { 200: { headers: Record<string, unknown>; content: { 'application/json': { identity_secret: string } } } };
type Operation = { parameters: { query?: never; header?: never; path?: never; cookie?: never }; requestBody?: never; responses: Answer };
type IdentityPaths = {
  '/api/v1/workspace/identity-secret': {
    parameters: { query?: never; header?: never; path?: never; cookie?: never };
    get: Operation;
    post: Operation;
  };
};
const identityApi = api as unknown as Client<IdentityPaths>;
const PATH = '/api/v1/workspace/identity-secret';

export default function IdentitySecretPanel() {
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [rotated, setRotated] = useState(false);

  async function run(call: () => Promise<{ identity_secret: string }>, afterRotate: boolean) {
    setBusy(true);
    setError(null);
    try {
      setSecret((await call()).identity_secret);
      setRotated(afterRotate);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }
  const show = () => run(() => ok(identityApi.GET(PATH)), false);
  const rotate = () => run(() => ok(identityApi.POST(PATH)), true);

  return (
    <section className="panel" aria-label="Identity secret">
      <h2>Identity secret</h2>
      <p className="muted small">
        Your server signs each visitor's user id with it (<code>userHash</code> = hex HMAC-SHA256(secret, userId)) so the web inbox
        shows them only their own messages. Keep it on your server, never in a page.
      </p>
      {error && <ErrorBanner message={error} />}
      {secret && (
        <div className="secret">
          <code data-testid="identity-secret">{secret}</code>
          <Button size="sm" onClick={() => navigator.clipboard?.writeText(secret)}>
            Copy
          </Button>
        </div>
      )}
      {rotated && <p role="status">Rotated: hashes made with the old secret are refused from now on.</p>}
      <div className="row-end">
        {!secret && (
          <Button onClick={show} busy={busy}>
            Show identity secret
          </Button>
        )}
        <Button variant="danger" onClick={() => setConfirming(true)} disabled={busy}>
          Rotate identity secret
        </Button>
      </div>
      <Dialog
        title="Rotate the identity secret?"
        open={confirming}
        onClose={() => setConfirming(false)}
        footer={
          <>
            <Button onClick={() => setConfirming(false)}>Cancel</Button>
            <Button
              variant="danger"
              onClick={() => {
                setConfirming(false);
                rotate();
              }}
            >
              Rotate
            </Button>
          </>
        }
      >
        <p>Every userHash your server made with the current secret stops working at once, until it signs with the new one.</p>
      </Dialog>
    </section>
  );
}
