import type { WireClientEvent, WireServerEvent } from '../outbox';
import type { ClientOrderEvent, ServerOrderEvent } from './domain/events';

/**
 * Protocol v1's order events as they travel: the core's envelope with the order's types and payloads. What a
 * client or server written from the v1 spec exchanges, unchanged by the generic core.
 */
export type OrderWireEvent = Omit<WireClientEvent, 'type' | 'data'> & ClientOrderEvent;
export type OrderWireServerEvent = Omit<WireServerEvent, 'type' | 'data'> & ServerOrderEvent;
