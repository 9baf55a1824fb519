import { type FormEvent, useState } from 'react';
import { Field, FormAlert } from '../../ui/components/field';
import { useCommandSubmit } from '../../ui/hooks';
import { useOutpostIds } from '../../ui/outpost-context';
import { ScreenHeading } from '../../ui/screens/screen-heading';
import { CURRENCY_CODES } from '../domain/currency';
import { navigate } from './routes';

const FIELDS = ['customerName', 'currency'] as const;

/** Starts an order: the id is chosen when the form opens, so a repeated submit creates nothing new. */
export function NewOrderScreen() {
  const ids = useOutpostIds();
  const [orderId] = useState(ids);
  const { submit, busy, feedback } = useCommandSubmit(FIELDS, { keepId: true });
  const [customerName, setCustomerName] = useState('');
  const [currency, setCurrency] = useState('EUR');

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    void submit(
      { type: 'CreateOrder', orderId, customerName, currency: currency.trim().toUpperCase() },
      { onDone: () => navigate({ name: 'order', orderId }) },
    );
  };

  return (
    <section aria-labelledby="new-order-heading">
      <ScreenHeading id="new-order-heading">New order</ScreenHeading>
      <form className="card form" onSubmit={onSubmit} noValidate aria-busy={busy}>
        <Field label="Customer name" error={feedback.fields.customerName}>
          {(control) => (
            <input
              {...control}
              name="customerName"
              autoComplete="organization"
              value={customerName}
              onChange={(event) => setCustomerName(event.target.value)}
            />
          )}
        </Field>
        <Field
          label="Currency"
          hint="ISO 4217 code, such as EUR, USD or JPY"
          error={feedback.fields.currency}
        >
          {(control) => (
            <input
              {...control}
              name="currency"
              list="currency-codes"
              autoCapitalize="characters"
              spellCheck={false}
              className="input--short"
              value={currency}
              onChange={(event) => setCurrency(event.target.value)}
            />
          )}
        </Field>
        <datalist id="currency-codes">
          {CURRENCY_CODES.map((code) => (
            <option key={code} value={code} />
          ))}
        </datalist>
        <FormAlert message={feedback.message} />
        <div className="form__actions">
          <button type="submit" className="button button--primary">
            Create order
          </button>
        </div>
      </form>
      <p className="screen-intro screen-intro--after">
        Saved on this device first: you can take orders with no connection and they are sent when it returns.
      </p>
    </section>
  );
}
