import type { ReactNode } from 'react';
import type { DeliveryView } from '../../outbox/page';
import { formatDateTime, shortId } from '../format';
import { SyncBadge } from './badges';

/**
 * One stream in a list: what it is and its figure on the first line; its status, where its changes are,
 * and when it was made on the second. Orders and stock counts list through it.
 */
export function StreamRow({
  href,
  title,
  figure,
  status,
  delivery,
  id,
  createdAt,
}: {
  readonly href: string;
  readonly title: string;
  readonly figure: string;
  readonly status: ReactNode;
  readonly delivery: DeliveryView;
  readonly id: string;
  readonly createdAt: string;
}) {
  return (
    <a className="stream-row" href={href}>
      <span className="stream-row__main">
        <span className="stream-row__customer">{title}</span>
        <span className="stream-row__total">{figure}</span>
      </span>
      <span className="stream-row__meta">
        {status}
        <SyncBadge delivery={delivery} />
        <span className="muted stream-row__when">
          {formatDateTime(createdAt)} · …{shortId(id)}
        </span>
      </span>
    </a>
  );
}
