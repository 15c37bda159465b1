// Who is signed in and which workspace the app acts in. The chosen workspace is remembered in
// localStorage so a reload keeps it; every API call carries it (api/client.ts).
import { createContext, useContext } from 'react';

import type { Me, Membership } from './api/client';

export interface Session {
  me: Me;
  workspace: Membership;
  switchWorkspace: (slug: string) => void;
  /** Re-reads who is signed in (after a workspace rename, a role change): the switcher and the
   * sidebar show the server's names, not the ones read at sign-in. */
  refreshMe: () => Promise<void>;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

const KEY = 'waymark.workspace';

export function rememberedWorkspace(me: Me): Membership | null {
  const slug = localStorage.getItem(KEY);
  return me.workspaces.find((w) => w.slug === slug) ?? me.workspaces[0] ?? null;
}

export function rememberWorkspace(slug: string): void {
  localStorage.setItem(KEY, slug);
}

export function canEdit(workspace: Membership): boolean {
  return workspace.role === 'owner' || workspace.role === 'editor';
}
