// Autosave of the journey draft: the draft's JSON is PATCHed a moment after it changes, saves are
// chained so two never race; leaving the editor inside the app saves what is left at once, and
// leaving the page with unsaved edits asks first.
import { useCallback, useEffect, useRef, useState } from 'react';

import { api, errorMessage, type Journey, ok } from '../api/client';

export type SaveState = 'saved' | 'dirty' | 'saving' | 'error';

const AUTOSAVE_MS = 800;

/** `draft` is the JSON body to save; `saved` the body as last stored (computed once, lazily). */
export function useAutosave({
  journeyId,
  draft,
  saved,
  readOnly,
  onSaved,
}: {
  journeyId: number;
  draft: string;
  saved: () => string;
  readOnly: boolean;
  /** the stored journey and the draft text it was saved from */
  onSaved: (journey: Journey, draft: string) => void;
}) {
  // Lazily: a useRef argument is evaluated on every render, and this one serializes the graph.
  const lastSaved = useRef<string | null>(null);
  lastSaved.current ??= saved();
  const [saveState, setSaveState] = useState<SaveState>('saved');
  const [saveError, setSaveError] = useState<string | null>(null);
  const draftRef = useRef(draft);
  draftRef.current = draft;
  const onSavedRef = useRef(onSaved);
  onSavedRef.current = onSaved;
  const saving = useRef<Promise<void>>(Promise.resolve());

  /** Saves the current draft if it changed; chained so two saves never race. */
  const saveNow = useCallback((): Promise<void> => {
    const run = async () => {
      const text = draftRef.current;
      if (text === lastSaved.current || readOnly) return;
      setSaveState('saving');
      try {
        const stored = await ok(api.PATCH('/api/v1/journeys/{id}', { params: { path: { id: String(journeyId) } }, body: JSON.parse(text) }));
        lastSaved.current = text;
        onSavedRef.current(stored, text);
        setSaveError(null);
        setSaveState(draftRef.current === text ? 'saved' : 'dirty');
      } catch (e) {
        setSaveState('error');
        setSaveError(errorMessage(e));
        throw e;
      }
    };
    saving.current = saving.current.catch(() => undefined).then(run);
    return saving.current;
  }, [journeyId, readOnly]);

  useEffect(() => {
    if (readOnly || draft === lastSaved.current) return;
    setSaveState((s) => (s === 'error' ? s : 'dirty'));
    const t = setTimeout(() => saveNow().catch(() => undefined), AUTOSAVE_MS);
    return () => clearTimeout(t);
  }, [draft, readOnly, saveNow]);

  useEffect(
    () => () => {
      // Leaving the editor within the app (a link, Back) before the debounce fired: the request
      // still goes out after the editor is gone, so the last edit is never dropped.
      if (draftRef.current !== lastSaved.current) saveNow().catch(() => undefined);
    },
    [saveNow],
  );

  useEffect(() => {
    // Leaving the page with unsaved edits asks first (the debounce may not have fired yet).
    const warn = (e: BeforeUnloadEvent) => {
      if (draftRef.current !== lastSaved.current && !readOnly) e.preventDefault();
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [readOnly]);

  return { saveState, saveError, saveNow };
}
