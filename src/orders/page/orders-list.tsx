import { memo, useDeferredValue, useEffect, useId, useRef, useState } from 'react';
import { sameData } from '../../outbox/page';
import { StatusBadge } from '../../ui/components/badges';
import { StreamRow } from '../../ui/components/stream-row';
import { formatMoney } from '../../ui/format';
import { useOutpost } from '../../ui/outpost-context';
import { ScreenHeading } from '../../ui/screens/screen-heading';
import { useLiveRead } from '../../ui/use-live-read';
import { useRowWindow } from '../../ui/use-row-window';
import type { OrderStatus } from '../domain/order';
import { orderStatusText } from './order-status';
import type { ListedOrder } from './order-summaries';
import { readOrderSummaries } from './order-summaries';

const STATUSES: readonly OrderStatus[] = ['draft', 'placed', 'confirmed', 'rejected', 'cancelled'];
const ROW_HEIGHT = 76;
/** Rows are read from IndexedDB a page at a time around what is on screen, never the whole table. */
const PAGE = 50;

type StatusFilter = OrderStatus | 'all';

interface Page {
  readonly offset: number;
  readonly rows: readonly ListedOrder[];
  readonly total: number;
  readonly changesAt: number | null;
}

export function OrdersListScreen() {
  const { db } = useOutpost();
  const [status, setStatus] = useState<StatusFilter>('all');
  const [searchText, setSearchText] = useState('');
  const search = useDeferredValue(searchText);
  const scroller = useRef<HTMLDivElement>(null);
  const filterId = useId();

  // The pages on screen, as the virtualizer last placed them; one live query reads them and the count.
  const [pages, setPages] = useState({ first: 0, last: 0 });
  const loaded = useLiveRead(
    async (now): Promise<Page> => {
      const offset = pages.first * PAGE;
      const page = await readOrderSummaries(
        db,
        {
          ...(status === 'all' ? {} : { status }),
          search,
          offset,
          limit: (pages.last - pages.first + 1) * PAGE,
        },
        now,
      );
      return { offset, ...page };
    },
    [db, status, search, pages.first, pages.last],
  );
  // While the next page loads, keep showing the last one rather than flashing empty rows.
  const lastWindow = useRef<Page | null>(null);
  if (loaded) lastWindow.current = loaded;
  const view = loaded ?? lastWindow.current;
  const count = view?.total;
  const { indexes, totalHeight } = useRowWindow({
    count: count ?? 0,
    rowHeight: ROW_HEIGHT,
    overscan: 8,
    scroller,
    initialHeight: 640,
  });
  const firstPage = Math.floor((indexes[0] ?? 0) / PAGE);
  const lastPage = Math.floor((indexes[indexes.length - 1] ?? 0) / PAGE);
  useEffect(() => {
    setPages((shown) =>
      shown.first === firstPage && shown.last === lastPage ? shown : { first: firstPage, last: lastPage },
    );
  }, [firstPage, lastPage]);

  const rowAt = (index: number): ListedOrder | undefined =>
    view ? view.rows[index - view.offset] : undefined;

  return (
    <section aria-labelledby="orders-heading" className="orders">
      <div className="screen-head">
        <ScreenHeading id="orders-heading">Orders</ScreenHeading>
        <a className="button button--primary" href="#/new">
          New order
        </a>
      </div>
      <search className="filters">
        <div className="filter">
          <label htmlFor={`${filterId}-status`}>Status</label>
          <select
            id={`${filterId}-status`}
            value={status}
            onChange={(event) => setStatus(event.target.value as StatusFilter)}
          >
            <option value="all">All statuses</option>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {value[0]?.toUpperCase()}
                {value.slice(1)}
              </option>
            ))}
          </select>
        </div>
        <div className="filter filter--grow">
          <label htmlFor={`${filterId}-search`}>Search customer</label>
          <input
            id={`${filterId}-search`}
            type="search"
            value={searchText}
            placeholder="Name starts with…"
            onChange={(event) => setSearchText(event.target.value)}
          />
        </div>
      </search>
      <p className="muted" aria-live="polite">
        {count === undefined
          ? 'Loading orders…'
          : `${count.toLocaleString()} ${count === 1 ? 'order' : 'orders'}`}
      </p>
      {count === 0 ? (
        <p className="empty">
          {search || status !== 'all' ? 'No order matches.' : 'No orders yet. '}
          {search || status !== 'all' ? null : <a href="#/new">Create the first one</a>}
        </p>
      ) : null}
      <div ref={scroller} className="orders__scroller" tabIndex={-1} hidden={!count}>
        <ul className="orders__list" aria-label="Orders" style={{ height: totalHeight }}>
          {indexes.map((index) => {
            const order = rowAt(index);
            return (
              <li
                key={order?.id ?? `row-${index}`}
                className="orders__row"
                aria-setsize={count ?? -1}
                aria-posinset={index + 1}
                style={{ height: ROW_HEIGHT, transform: `translateY(${index * ROW_HEIGHT}px)` }}
              >
                {order ? <OrderRow order={order} /> : <span className="muted">Loading…</span>}
              </li>
            );
          })}
        </ul>
      </div>
    </section>
  );
}

/**
 * One order of the list, drawn again only when its data changed: the list re-reads its window after every
 * write, and a command changes one order of the rows on screen.
 */
const OrderRow = memo(
  function OrderRow({ order }: { readonly order: ListedOrder }) {
    return (
      <StreamRow
        href={`#/orders/${order.id}`}
        title={order.customerName}
        figure={formatMoney(order.total, order.currency)}
        status={<StatusBadge status={order.status} text={orderStatusText(order)} />}
        delivery={order.delivery}
        id={order.id}
        createdAt={order.createdAt}
      />
    );
  },
  (before, after) => sameData(before.order, after.order),
);
