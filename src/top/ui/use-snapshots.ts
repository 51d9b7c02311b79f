// Feeds poller snapshots into the model; while frozen the screen keeps its last picture.

import { useEffect, useState } from 'react';
import type { TopModel } from '../model.js';
import type { Poller } from '../poller.js';

export function useSnapshots(poller: Poller, model: TopModel, frozen: boolean): number {
  const [version, setVersion] = useState(0);
  useEffect(() => {
    poller.onSnapshot = (s) => {
      model.update(s);
      if (!frozen) setVersion((v) => v + 1);
    };
  }, [poller, model, frozen]);
  return version;
}
