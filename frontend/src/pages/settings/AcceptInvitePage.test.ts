import { describe, expect, it } from 'vitest';

import { inviteTokenFromPath } from './AcceptInvitePage';

describe('inviteTokenFromPath', () => {
  it('reads the token of an invitation link', () => {
    expect(inviteTokenFromPath('/invite/abc-DEF_123')).toBe('abc-DEF_123');
    expect(inviteTokenFromPath('/invite/abc-DEF_123/')).toBe('abc-DEF_123');
  });

  it('leaves every other page to the app', () => {
    for (const path of ['/', '/invite', '/invite/', '/journeys/1', '/invite/a/b', '/settings/invite/x', '/invite/a%2Fb']) {
      expect(inviteTokenFromPath(path)).toBeNull();
    }
  });
});
