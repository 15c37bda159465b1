// The page an invitation email links to (/invite/<token>): says which workspace and role it offers,
// then joins — a new person chooses their own password here; someone with an account signs in as
// the invited address first. Shown outside the signed-in app, since the person may have no session.
import { type FormEvent, useEffect, useState } from 'react';

import { api, ApiError, errorMessage, login, logout, ok, type Schemas } from '../../api/client';
import { Button, Field, Spinner } from '../../components/ui';
import { rememberWorkspace } from '../../session';

type Preview = Schemas['InvitationPreview'];

const INVITE_PATH = /^\/invite\/([A-Za-z0-9_-]+)\/?$/;

/** The token of an invitation link's path, or null for every other page. */
export function inviteTokenFromPath(pathname: string): string | null {
  return INVITE_PATH.exec(pathname)?.[1] ?? null;
}

export default function AcceptInvitePage({ token }: { token: string }) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [unusable, setUnusable] = useState<string | null>(null);

  useEffect(() => {
    ok(api.GET('/api/v1/auth/csrf'))
      .then(() => ok(api.GET('/api/v1/invitations/accept', { params: { query: { token } } })))
      .then(setPreview)
      .catch((e) => setUnusable(errorMessage(e)));
  }, [token]);

  return (
    <div className="center-screen">
      <div className="card login" aria-label="Invitation">
        <div className="brand brand-lg">Waymark</div>
        {!preview && !unusable && <Spinner label="Reading the invitation…" />}
        {unusable && (
          <>
            <h1>Invitation</h1>
            <p role="alert" className="form-error">
              {unusable}
            </p>
            <a href="/">Go to sign in</a>
          </>
        )}
        {preview && <Offer token={token} preview={preview} />}
      </div>
    </div>
  );
}

function Offer({ token, preview }: { token: string; preview: Preview }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const signedInAsInvitee = preview.signed_in_as === preview.email;

  async function accept(event: FormEvent) {
    event.preventDefault();
    setError(null);
    if (!signedInAsInvitee && !preview.has_account && password !== confirm) {
      setError('The two passwords differ.');
      return;
    }
    setBusy(true);
    try {
      // An existing account signs in first (the invited address only), then accepts.
      if (!signedInAsInvitee && preview.has_account) await login(preview.email, password);
      const body = signedInAsInvitee || preview.has_account ? { token } : { token, password, name };
      await ok(api.POST('/api/v1/invitations/accept', { body }));
      rememberWorkspace(preview.workspace_slug);
      window.location.assign('/journeys');
    } catch (e) {
      const details = e instanceof ApiError ? (e.details.password as string[] | undefined) : undefined;
      setError(details ? details.join(' ') : errorMessage(e));
      setBusy(false);
    }
  }

  const offer = (
    <p>
      {preview.invited_by ? `${preview.invited_by} invited you` : 'You are invited'} to join <strong>{preview.workspace}</strong>{' '}
      as <strong>{preview.role}</strong>.
    </p>
  );

  if (preview.signed_in_as && !signedInAsInvitee) {
    return (
      <>
        <h1>Join {preview.workspace}</h1>
        {offer}
        <p role="alert" className="form-error">
          This invitation is for {preview.email}, but you are signed in as {preview.signed_in_as}.
        </p>
        <Button onClick={() => logout().finally(() => window.location.reload())}>Sign out</Button>
      </>
    );
  }

  return (
    <form className="stack" onSubmit={accept} aria-label="Accept the invitation">
      <h1>Join {preview.workspace}</h1>
      {offer}
      {signedInAsInvitee && <p className="muted">Signed in as {preview.email}.</p>}
      {!signedInAsInvitee && preview.has_account && (
        <>
          <p className="muted">You already have an account for {preview.email}: sign in to accept.</p>
          <Field label="Password">
            <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          </Field>
        </>
      )}
      {!signedInAsInvitee && !preview.has_account && (
        <>
          <p className="muted">Create your account for {preview.email}.</p>
          <Field label="Your name">
            <input autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field label="Choose a password" hint="At least 8 characters.">
            <input type="password" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          </Field>
          <Field label="Repeat the password">
            <input type="password" autoComplete="new-password" required value={confirm} onChange={(e) => setConfirm(e.target.value)} />
          </Field>
        </>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <Button type="submit" variant="primary" busy={busy}>
        Join {preview.workspace}
      </Button>
    </form>
  );
}
