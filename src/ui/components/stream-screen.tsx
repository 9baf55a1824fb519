import type { ReactNode } from 'react';
import type { DeliveryView, OutboxEntry, StoredEvent } from '../../outbox/page';
import { formatDateTime } from '../format';
import { ScreenHeading } from '../screens/screen-heading';
import { SyncBadge } from './badges';
import { DeliveryCallout } from './delivery-callout';
import type { Origins } from './event-origin';
import { RefusalCallout } from './refusal-callout';
import { Timeline } from './timeline';

/** What every stream type's screen shows around its own content, from the core's view of the stream. */
export interface StreamScreenProps {
  readonly headingId: string;
  /** The list this stream belongs to, for the breadcrumb. */
  readonly back: { readonly href: string; readonly label: string };
  readonly title: ReactNode;
  /** The stream type's own status badge. */
  readonly status: ReactNode;
  readonly createdAt: string;
  /** How the person calls one of these ("order", "stock count"), in the held-back callout. */
  readonly noun: string;
  readonly delivery: DeliveryView;
  readonly events: readonly StoredEvent[];
  readonly outbox: readonly OutboxEntry[];
  readonly discardedFromVersion: number | undefined;
  /** The one line that says what an event of this stream type means. */
  readonly describe: (event: StoredEvent) => string;
  /** Who wrote each event: this device, or another one the feed named (`StreamActivity`). */
  readonly authors: Origins['authors'];
  readonly ownClientIds: Origins['ownClientIds'];
  /** The stream type's own cards: lines, forms, actions. */
  readonly children: ReactNode;
}

/**
 * One stream's screen: where it is (status, delivery, what holds it back), the stream type's own cards, and
 * its timeline with each event's delivery state, so the person sees exactly what the server has and has not
 * received. Orders and stock counts both render through it.
 */
export function StreamScreen(props: StreamScreenProps) {
  const origins: Origins = { authors: props.authors, ownClientIds: props.ownClientIds };
  return (
    <section aria-labelledby={props.headingId} className="stream-screen">
      <p className="breadcrumb">
        <a href={props.back.href}>← {props.back.label}</a>
      </p>
      <ScreenHeading id={props.headingId}>{props.title}</ScreenHeading>
      <p className="stream-screen__badges">
        {props.status} <SyncBadge delivery={props.delivery} />
        <span className="muted">Created {formatDateTime(props.createdAt)}</span>
      </p>
      <DeliveryCallout delivery={props.delivery} noun={props.noun} />
      <RefusalCallout events={props.events} describe={props.describe} origins={origins} />
      {props.children}
      <Timeline
        events={props.events}
        outbox={props.outbox}
        discardedFromVersion={props.discardedFromVersion}
        describe={props.describe}
        origins={origins}
      />
    </section>
  );
}

/** A stream id this device holds nothing of (a stale link, another device's, a typo). */
export function StreamNotFound({
  headingId,
  title,
  what,
  back,
}: {
  readonly headingId: string;
  readonly title: string;
  readonly what: string;
  readonly back: { readonly href: string; readonly label: string };
}) {
  return (
    <section aria-labelledby={headingId}>
      <ScreenHeading id={headingId}>{title}</ScreenHeading>
      <p>
        There is no {what} on this device. <a href={back.href}>{back.label}</a>
      </p>
    </section>
  );
}
