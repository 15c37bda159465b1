// The shell for now: sign in with a session, then show who you are and your workspaces.
import { type FormEvent, useEffect, useState } from 'react';

import { ApiError, fetchMe, login, logout, type Me } from './api';

type State = { status: 'loading' } | { status: 'signed-out' } | { status: 'signed-in'; me: Me };

export default function App() {
  const [state, setState] = useState<State>({ status: 'loading' });

  useEffect(() => {
    // An existing session cookie signs the user straight in.
    fetchMe()
      .then((me) => setState({ status: 'signed-in', me }))
      .catch(() => setState({ status: 'signed-out' }));
  }, []);

  return (
    <main className="shell">
      <h1 className="brand">Waymark</h1>
      {state.status === 'loading' && <p className="muted">Loading…</p>}
      {state.status === 'signed-out' && <LoginForm onSignedIn={(me) => setState({ status: 'signed-in', me })} />}
      {state.status === 'signed-in' && (
        <SignedIn
          me={state.me}
          onSignedOut={() => setState({ status: 'signed-out' })}
        />
      )}
    </main>
  );
}

function LoginForm({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await login(email, password));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'Could not reach the server.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="card" onSubmit={submit}>
      <h2>Sign in</h2>
      <label>
        Email
        <input type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
      </label>
      <label>
        Password
        <input
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
      </label>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

function SignedIn({ me, onSignedOut }: { me: Me; onSignedOut: () => void }) {
  return (
    <section className="card">
      <p>
        Signed in as <strong>{me.email}</strong>
      </p>
      <h2>Workspaces</h2>
      {me.workspaces.length === 0 ? (
        <p className="muted">You are not a member of any workspace yet.</p>
      ) : (
        <ul className="workspaces">
          {me.workspaces.map((m) => (
            <li key={m.workspace_id}>
              <span>{m.name}</span>
              <span className="role">{m.role}</span>
            </li>
          ))}
        </ul>
      )}
      <button type="button" className="secondary" onClick={() => logout().finally(onSignedOut)}>
        Sign out
      </button>
    </section>
  );
}
