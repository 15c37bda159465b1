// Validate and the status actions (start or publish, pause, resume, stop), each saving the draft
// first; their answer shows as a notice, and Validate's problems replace the hints until the
// next edit.
import { useCallback, useState } from 'react';

import { api, ApiError, errorMessage, type Journey, ok } from '../api/client';
import type { Problem } from '../lib/rules';

export type Action = 'start' | 'pause' | 'resume' | 'stop';
/** `validation`: Validate's answer, whose words follow the current problems (never go stale). */
export type Notice = { tone: 'info' | 'error' | 'success'; text: string; validation?: boolean };
export type Findings = { errors: Problem[]; warnings: Problem[] };

export function useJourneyActions({
  journeyId,
  status,
  saveNow,
  onChanged,
  onProblems,
}: {
  journeyId: number;
  status: Journey['status'];
  saveNow: () => Promise<void>;
  onChanged: (journey: Journey) => void;
  /** the server's findings for the draft just saved (null: nothing new), and whether to open the list */
  onProblems: (findings: Findings | null, show: boolean) => void;
}) {
  const [notice, setNotice] = useState<Notice | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<Action | null>(null);
  const [publishOpen, setPublishOpen] = useState(false);

  const validate = useCallback(async () => {
    setBusy('validate');
    try {
      await saveNow();
      const result = await ok(api.POST('/api/v1/journeys/{id}/validate', { params: { path: { id: String(journeyId) } } }));
      onProblems({ errors: result.errors, warnings: result.warnings }, !result.valid);
      setNotice({ tone: result.valid ? 'success' : 'error', text: '', validation: true });
    } catch (e) {
      setNotice({ tone: 'error', text: errorMessage(e) });
    } finally {
      setBusy(null);
    }
  }, [journeyId, onProblems, saveNow]);

  const act = useCallback(
    async (action: Action, inFlight?: 'move' | 'keep') => {
      setConfirm(null);
      setPublishOpen(false);
      setBusy(action);
      try {
        await saveNow();
        const params = { params: { path: { id: String(journeyId) } } };
        let next: Journey;
        if (action === 'start') next = await ok(api.PUT('/api/v1/journeys/{id}/start', { ...params, body: { in_flight: inFlight ?? 'move' } }));
        else if (action === 'pause') next = await ok(api.PUT('/api/v1/journeys/{id}/pause', params));
        else if (action === 'resume') next = await ok(api.PUT('/api/v1/journeys/{id}/resume', params));
        else next = await ok(api.PUT('/api/v1/journeys/{id}/stop', params));
        const published = action === 'start' && status === 'active';
        onChanged(next);
        onProblems(null, false);
        setNotice({
          tone: 'success',
          text: published ? `Published version ${next.version}.` : action === 'start' ? `Started: version ${next.version} is live.` : `Journey ${next.status}.`,
        });
      } catch (e) {
        if (e instanceof ApiError && Array.isArray(e.details.errors)) onProblems({ errors: e.details.errors as Problem[], warnings: [] }, true);
        setNotice({ tone: 'error', text: errorMessage(e) });
      } finally {
        setBusy(null);
      }
    },
    [journeyId, onChanged, onProblems, saveNow, status],
  );

  return { notice, setNotice, busy, confirm, setConfirm, publishOpen, setPublishOpen, validate, act };
}
