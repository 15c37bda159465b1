// The app shell: session sign-in, the workspace switcher, navigation and the routes.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Navigate, NavLink, Route, Routes } from 'react-router';

import { fetchMe, logout, type Me, actAsWorkspace } from './api/client';
import { Spinner } from './components/ui';
import JourneyEditorPage from './pages/JourneyEditorPage';
import JourneysPage from './pages/JourneysPage';
import LoginPage from './pages/LoginPage';
import AnalyticsSection from './pages/analytics';
import AudiencesSection from './pages/audiences';
import ChannelsPage from './pages/channels/ChannelsPage';
import { NotFoundPage } from './pages/PlaceholderPages';
import SettingsPage from './pages/SettingsPage';
import AcceptInvitePage, { inviteTokenFromPath } from './pages/settings/AcceptInvitePage';
import { rememberedWorkspace, rememberWorkspace, type Session, SessionContext, useSession } from './session';

type State = { status: 'loading' } | { status: 'signed-out' } | { status: 'signed-in'; me: Me; slug: string | null };

export default function App() {
  const [state, setState] = useState<State>({ status: 'loading' });

  const signedIn = useCallback((me: Me) => {
    const workspace = rememberedWorkspace(me);
    actAsWorkspace(workspace?.slug ?? null);
    setState({ status: 'signed-in', me, slug: workspace?.slug ?? null });
  }, []);

  useEffect(() => {
    // An existing session cookie signs the user straight in.
    fetchMe()
      .then(signedIn)
      .catch(() => setState({ status: 'signed-out' }));
  }, [signedIn]);

  // An invitation link works signed in or out: it has a page of its own.
  const inviteToken = inviteTokenFromPath(window.location.pathname);
  if (inviteToken) return <AcceptInvitePage token={inviteToken} />;
  if (state.status === 'loading') {
    return (
      <div className="center-screen">
        <Spinner label="Loading Waymark…" />
      </div>
    );
  }
  if (state.status === 'signed-out') return <LoginPage onSignedIn={signedIn} />;
  return <SignedIn me={state.me} slug={state.slug} onChange={setState} />;
}

function SignedIn({ me, slug, onChange }: { me: Me; slug: string | null; onChange: (s: State) => void }) {
  const workspace = me.workspaces.find((w) => w.slug === slug);
  const session: Session | null = useMemo(
    () =>
      workspace
        ? {
            me,
            workspace,
            switchWorkspace: (next: string) => {
              rememberWorkspace(next);
              actAsWorkspace(next);
              onChange({ status: 'signed-in', me, slug: next });
            },
            refreshMe: () =>
              fetchMe().then((fresh) => {
                // Still a member of this workspace (a lost membership falls back to the first).
                const stays = fresh.workspaces.some((w) => w.slug === workspace.slug);
                const next = stays ? workspace.slug : (rememberedWorkspace(fresh)?.slug ?? null);
                actAsWorkspace(next);
                onChange({ status: 'signed-in', me: fresh, slug: next });
              }),
            signOut: () => {
              logout().finally(() => onChange({ status: 'signed-out' }));
            },
          }
        : null,
    [me, workspace, onChange],
  );

  if (!session) {
    return (
      <div className="center-screen">
        <div className="card">
          <h1 className="brand">Waymark</h1>
          <p>
            You are signed in as <strong>{me.email}</strong> but are not a member of any workspace yet. Ask a workspace owner
            to add you, or create one with <code>python manage.py create_workspace NAME --owner {me.email}</code>.
          </p>
          <button type="button" className="btn btn-secondary" onClick={() => logout().finally(() => onChange({ status: 'signed-out' }))}>
            Sign out
          </button>
        </div>
      </div>
    );
  }

  return (
    <SessionContext.Provider value={session}>
      {/* key: switching workspace remounts the pages so nothing of the old one lingers */}
      <div className="app" key={session.workspace.slug}>
        <Sidebar />
        <main className="main">
          <Routes>
            <Route path="/" element={<Navigate to="/journeys" replace />} />
            <Route path="/journeys" element={<JourneysPage />} />
            <Route path="/journeys/:id" element={<JourneyEditorPage />} />
            <Route path="/audiences/*" element={<AudiencesSection />} />
            <Route path="/channels/*" element={<ChannelsPage />} />
            <Route path="/analytics/*" element={<AnalyticsSection />} />
            <Route path="/settings" element={<SettingsPage />} />
            <Route path="*" element={<NotFoundPage />} />
          </Routes>
        </main>
      </div>
    </SessionContext.Provider>
  );
}

const NAV = [
  { to: '/journeys', label: 'Journeys' },
  { to: '/audiences', label: 'Audiences' },
  { to: '/channels', label: 'Channels' },
  { to: '/analytics', label: 'Analytics' },
  { to: '/settings', label: 'Settings' },
];

function Sidebar() {
  const { me, workspace, switchWorkspace, signOut } = useSession();
  return (
    <nav className="sidebar" aria-label="Main">
      <div className="brand">Waymark</div>
      <label className="ws-switch">
        <span className="sr-only">Workspace</span>
        <select value={workspace.slug} onChange={(e) => switchWorkspace(e.target.value)} aria-label="Workspace">
          {me.workspaces.map((w) => (
            <option key={w.slug} value={w.slug}>
              {w.name}
            </option>
          ))}
        </select>
      </label>
      <ul>
        {NAV.map((item) => (
          <li key={item.to}>
            <NavLink to={item.to} className={({ isActive }) => (isActive ? 'nav-link active' : 'nav-link')}>
              {item.label}
            </NavLink>
          </li>
        ))}
      </ul>
      <div className="sidebar-foot">
        <div className="who" title={me.email}>
          {me.name || me.email}
          <span className="muted"> · {workspace.role}</span>
        </div>
        <button type="button" className="btn btn-ghost btn-sm" onClick={signOut}>
          Sign out
        </button>
      </div>
    </nav>
  );
}
