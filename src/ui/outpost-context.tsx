import { createContext, type ReactNode, useContext } from 'react';
import type { Outpost } from '../app/outpost';
import { type IdGenerator, newId } from '../outbox';
import type { NotificationService } from '../subscribers/notifications';
import type { StreamScreens } from './stream-ui';

interface OutpostContextValue {
  readonly outpost: Outpost;
  readonly ids: IdGenerator;
  readonly notifications: NotificationService | null;
  /** The stream types' screens: how the UI names and links a stream of any type. */
  readonly streams: StreamScreens;
}

const OutpostContext = createContext<OutpostContextValue | null>(null);

export function OutpostProvider({ value, children }: { value: OutpostContextValue; children: ReactNode }) {
  return <OutpostContext.Provider value={value}>{children}</OutpostContext.Provider>;
}

function useOutpostContext(): OutpostContextValue {
  const value = useContext(OutpostContext);
  if (!value) throw new Error('Outpost screens must render inside <App outpost={…} />');
  return value;
}

export const useOutpost = (): Outpost => useOutpostContext().outpost;
export const useOutpostIds = (): IdGenerator => useOutpostContext().ids;
export const useNotifications = (): NotificationService | null => useOutpostContext().notifications;
export const useStreamScreens = (): StreamScreens => useOutpostContext().streams;

export { newId as defaultIds };
