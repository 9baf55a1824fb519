import { type FormEvent, type RefObject, useRef, useState } from 'react';
import * as v from 'valibot';
import { type CatalogProduct, isDiscontinued } from '../../catalog/products';
import { FormAlert } from '../../ui/components/field';
import { NumberField, numberOrUndefined } from '../../ui/components/number-field';
import { ProductSearch } from '../../ui/components/product-search';
import { chosenProduct, unresolvedProductText } from '../../ui/components/product-search-text';
import { useCommandSubmit } from '../../ui/hooks';
import { MAX_QUANTITY, QuantitySchema } from '../domain/fields';

const NO_LINE = { query: '', quantity: '1' };

/**
 * Adds products to a draft from the keyboard or a scanner: Enter in the search adds the highlighted (or
 * exactly typed) product at the quantity beside it; "Add to order" (or Enter in the quantity) adds what the
 * search names. Either way the form empties at once for the next line and the focus is in the search. Every add is queued behind the ones before it (`useCommandSubmit`), so none is dropped
 * while another is being written. A refused input (no such product, a quantity out of range) writes
 * nothing and says why next to its field.
 */
export function AddProductForm({
  orderId,
  currency,
  searchRef,
}: {
  readonly orderId: string;
  readonly currency: string;
  readonly searchRef: RefObject<HTMLInputElement | null>;
}) {
  const { submit, busy, feedback, setFeedback } = useCommandSubmit(['sku', 'quantity']);
  const [draft, setDraft] = useState(NO_LINE);
  const [lastAdded, setLastAdded] = useState<CatalogProduct | null>(null);

  /** The quantity as the command will carry it, or why not: checked here so the typed product stays. */
  const checkedQuantity = (text: string): number | null => {
    const checked = v.safeParse(QuantitySchema, numberOrUndefined(text));
    if (checked.success) return checked.output;
    setFeedback({ fields: { quantity: checked.issues[0].message }, message: null });
    return null;
  };

  const commandFor = (product: CatalogProduct, quantity: number) => ({
    type: 'AddProduct',
    orderId,
    sku: product.sku,
    name: product.name,
    unitPrice: product.unitPrice,
    quantity,
  });

  /** Enter in the search: a scanner's path. Each Enter is an add of its own, even of the same code. */
  const addFromSearch = (text: string, highlighted: CatalogProduct | null) => {
    const product = chosenProduct(text, highlighted);
    if (!product) {
      setFeedback({ fields: { sku: unresolvedProductText(text) }, message: null });
      return;
    }
    const quantity = checkedQuantity(draft.quantity);
    if (quantity === null) return;
    setDraft(NO_LINE);
    setLastAdded(product);
    void submit(commandFor(product, quantity), { distinct: true });
  };

  /** The line the button last sent, while it is being written: a second click on an emptied form repeats it. */
  const inFlight = useRef<ReturnType<typeof commandFor> | null>(null);

  /**
   * The button, or Enter in the quantity. The form empties at once, ready for the next line; a click that
   * finds it empty while the last line is still being written is the second click of a double click, and is
   * answered as a repeat of that line (one line, written once).
   */
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    searchRef.current?.focus();
    const repeated = inFlight.current;
    if (draft.query.trim() === '' && repeated) {
      void submit(repeated);
      return;
    }
    const product = chosenProduct(draft.query);
    if (!product) {
      setFeedback({ fields: { sku: unresolvedProductText(draft.query) }, message: null });
      return;
    }
    const quantity = checkedQuantity(draft.quantity);
    if (quantity === null) return;
    const command = commandFor(product, quantity);
    inFlight.current = command;
    setDraft(NO_LINE);
    setLastAdded(product);
    void submit(command).finally(() => {
      if (inFlight.current === command) inFlight.current = null;
    });
  };

  const note =
    lastAdded && isDiscontinued(lastAdded.sku)
      ? `${lastAdded.name} is discontinued: the server will refuse this order while it holds it.`
      : undefined;

  return (
    <form
      className="card form form--row add-product"
      onSubmit={onSubmit}
      noValidate
      aria-labelledby="add-product-heading"
      aria-busy={busy}
    >
      <h2 id="add-product-heading">Add a product</h2>
      <ProductSearch
        label="Product"
        currency={currency}
        value={draft.query}
        onChange={(query) => setDraft((current) => ({ ...current, query }))}
        onEnter={addFromSearch}
        error={feedback.fields.sku}
        note={note}
        inputRef={searchRef}
      />
      <NumberField
        label="Quantity"
        error={feedback.fields.quantity}
        value={draft.quantity}
        onChange={(text) => setDraft((current) => ({ ...current, quantity: text }))}
        min={1}
        max={MAX_QUANTITY}
      />
      <FormAlert message={feedback.message} />
      <div className="form__actions">
        <button type="submit" className="button button--primary">
          Add to order
        </button>
      </div>
    </form>
  );
}
