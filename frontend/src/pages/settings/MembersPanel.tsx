// The members of the workspace and their roles, the invitations still open, and the invite form.
// Members join only through the emailed link (AcceptInvitePage.tsx): nobody chooses another
// person's password, and inviting an address says nothing about whether it has an account.
import { type FormEvent, useCallback, useEffect, useState } from 'react';

import { api, ApiError, errorMessage, ok, type Schemas } from '../../api/client';
import { Badge, Button, Dialog, ErrorBanner, Field, Spinner } from '../../components/ui';
import { useSession } from '../../session';

type Role = Schemas['RoleEnum'];
type Member = Schemas['Member'];
type Invitation = Schemas['Invitation'];
type FieldErrors = Record<string, string[]>;

const ROLES: Role[] = ['owner', 'editor', 'viewer'];

export default function MembersPanel({ isOwner }: { isOwner: boolean }) {
  const { me } = useSession();
  const [members, setMembers] = useState<Member[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [removing, setRemoving] = useState<Member | null>(null);
  const [invitations, setInvitations] = useState<Invitation[]>([]);

  const load = useCallback(() => {
    ok(api.GET('/api/v1/members', { params: { query: { limit: 200 } } }))
      .then((page) => setMembers(page.results))
      .catch((e) => setError(errorMessage(e)));
    // Only owners may see who is invited.
    if (isOwner) {
      ok(api.GET('/api/v1/invitations', { params: { query: { limit: 200 } } }))
        .then((page) => setInvitations(page.results))
        .catch((e) => setError(errorMessage(e)));
    }
  }, [isOwner]);
  useEffect(load, [load]);

  function withdraw(invitation: Invitation) {
    setError(null);
    ok(api.DELETE('/api/v1/invitations/{id}', { params: { path: { id: invitation.id } } }))
      .then(load)
      .catch((e) => setError(errorMessage(e)));
  }

  function changeRole(member: Member, role: Role) {
    setError(null);
    ok(api.PATCH('/api/v1/members/{id}', { params: { path: { id: member.id } }, body: { role } }))
      .then(() => {
        // Demoting yourself changes what this session may do: reload to pick up the new role.
        if (member.user_id === me.id) window.location.reload();
        else load();
      })
      .catch((e) => {
        setError(errorMessage(e)); // e.g. 409: the last owner cannot be demoted
        load(); // the select shows the stored role again
      });
  }

  function remove(member: Member) {
    setRemoving(null);
    setError(null);
    ok(api.DELETE('/api/v1/members/{id}', { params: { path: { id: member.id } } }))
      .then(() => (member.user_id === me.id ? window.location.assign('/') : load()))
      .catch((e) => setError(errorMessage(e)));
  }

  return (
    <section className="panel">
      <h2>Members</h2>
      {error && <ErrorBanner message={error} />}
      {!members && !error && <Spinner />}
      {members && (
        <table className="table">
          <thead>
            <tr>
              <th>Member</th>
              <th>Role</th>
              <th>Since</th>
              {isOwner && <th />}
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr key={m.id}>
                <td>
                  {m.name || m.email}{' '}
                  <span className="muted">
                    ({m.email}
                    {m.user_id === me.id ? ', you' : ''})
                  </span>
                </td>
                <td>
                  {isOwner ? (
                    <select aria-label={`Role of ${m.email}`} value={m.role} onChange={(e) => changeRole(m, e.target.value as Role)}>
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <Badge tone="neutral">{m.role}</Badge>
                  )}
                </td>
                <td>{new Date(m.created_at).toLocaleDateString()}</td>
                {isOwner && (
                  <td className="cell-actions">
                    <Button size="sm" variant="danger" aria-label={`Remove ${m.email}`} onClick={() => setRemoving(m)}>
                      Remove
                    </Button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {isOwner && invitations.length > 0 && (
        <table className="table" aria-label="Pending invitations">
          <thead>
            <tr>
              <th>Invited</th>
              <th>Role</th>
              <th>Link valid until</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {invitations.map((i) => (
              <tr key={i.id}>
                <td>
                  {i.email} <Badge tone={i.status === 'expired' ? 'danger' : 'neutral'}>{i.status}</Badge>
                </td>
                <td>{i.role}</td>
                <td>{new Date(i.expires_at).toLocaleString()}</td>
                <td className="cell-actions">
                  <Button size="sm" variant="danger" aria-label={`Withdraw the invitation of ${i.email}`} onClick={() => withdraw(i)}>
                    Withdraw
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {isOwner && <InviteForm onInvited={load} />}
      <Dialog
        title="Remove this member?"
        open={removing !== null}
        onClose={() => setRemoving(null)}
        footer={
          <>
            <Button onClick={() => setRemoving(null)}>Cancel</Button>
            <Button variant="danger" onClick={() => removing && remove(removing)}>
              Remove member
            </Button>
          </>
        }
      >
        <p>
          <strong>{removing?.email}</strong> will lose access to this workspace at once. Their account and their work stay.
        </p>
      </Dialog>
    </section>
  );
}

function InviteForm({ onInvited }: { onInvited: () => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('editor');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [invited, setInvited] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setInvited(null);
    try {
      const invitation = await ok(api.POST('/api/v1/members', { body: { email, role } }));
      setInvited(invitation.email);
      setEmail('');
      onInvited();
    } catch (err) {
      const details = err instanceof ApiError ? (err.details as FieldErrors) : {};
      setErrors(Object.keys(details).length ? details : { form: [errorMessage(err)] });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="stack" onSubmit={submit} aria-label="Invite a member">
      <h3>Invite a member</h3>
      <div className="row-gap">
        <Field label="Email" error={errors.email}>
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
        </Field>
        <Field label="Role" error={errors.role}>
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="owner">owner</option>
            <option value="editor">editor</option>
            <option value="viewer">viewer</option>
          </select>
        </Field>
        <Button type="submit" variant="primary" busy={busy}>
          Send invitation
        </Button>
      </div>
      {errors.form && <p className="form-error">{errors.form.join(' ')}</p>}
      {invited && (
        <p role="status" className="muted">
          Invitation sent to {invited}. The link in the email works once, for a week.
        </p>
      )}
    </form>
  );
}
