// What every view gets: navigation without a reload, the confirmation before an action, the model.

import type React from 'react';
import type { ReactNode } from 'react';
import { BASE, type Model } from './data.js';

export interface Nav {
  go: (path: string) => void;
  /** asks, then acts; the answer's warning or error is shown in the banner */
  confirmAct: (question: string, method: 'POST' | 'DELETE', path: string, body?: unknown, after?: string) => void;
  model: Model | null;
  modelError: string | null;
  /** bumps after an action so views ask again at once */
  version: number;
}

export function currentPath(): string {
  const p = window.location.pathname;
  return (p.startsWith(BASE) ? p.slice(BASE.length) : p) || '/';
}

export function Link({ to, nav, children, className }: { to: string; nav: Nav; children: ReactNode; className?: string }): React.JSX.Element {
  return (
    <a
      href={`${BASE}${to}`}
      className={className}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        nav.go(to);
      }}
    >
      {children}
    </a>
  );
}
