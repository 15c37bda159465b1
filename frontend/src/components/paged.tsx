// Cursor-paged lists (`{"results", "next"}`, API.md): the first page on mount, "Load more" for
// the next, and a fresh start whenever the loader changes (a new filter).
import { useCallback, useEffect, useRef, useState } from 'react';

import { errorMessage } from '../api/client';
import { Button } from './ui';

export interface Page<T> {
  results: T[];
  next: string | null;
}

export interface Paged<T> {
  rows: T[] | null; // null until the first page arrives
  next: string | null;
  busy: boolean;
  error: string | null;
  loadMore: () => void;
  reload: () => void;
}

/** `load` must be memoized (useCallback): a new identity starts the list over. */
export function usePaged<T>(load: (cursor?: string) => Promise<Page<T>>): Paged<T> {
  const [rows, setRows] = useState<T[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Answers for an older loader (the filter changed meanwhile) are dropped.
  const generation = useRef(0);

  const fetchPage = useCallback(
    (cursor?: string) => {
      const mine = generation.current;
      setBusy(true);
      setError(null);
      load(cursor)
        .then((page) => {
          if (mine !== generation.current) return;
          setRows((previous) => (cursor ? [...(previous ?? []), ...page.results] : page.results));
          setNext(page.next);
        })
        .catch((e) => mine === generation.current && setError(errorMessage(e)))
        .finally(() => mine === generation.current && setBusy(false));
    },
    [load],
  );

  useEffect(() => {
    generation.current += 1;
    setRows(null);
    setNext(null);
    fetchPage();
  }, [fetchPage]);

  return {
    rows,
    next,
    busy,
    error,
    loadMore: () => {
      if (next) fetchPage(next);
    },
    reload: () => fetchPage(),
  };
}

/** The foot of a paged list: "Load more" while there is a next page. */
export function LoadMore({ paged, what }: { paged: Paged<unknown>; what: string }) {
  if (!paged.next) return null;
  return (
    <div className="row-center">
      <Button size="sm" busy={paged.busy} onClick={paged.loadMore}>
        Load more {what}
      </Button>
    </div>
  );
}
