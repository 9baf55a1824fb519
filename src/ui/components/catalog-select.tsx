import { catalog, isDiscontinued } from '../../catalog/products';
import { Field } from './field';

/**
 * A product from the catalog shipped in the bundle, so it works with no network: what an order adds and
 * what a stock count counts are the same products.
 */
export function CatalogSelect({
  label,
  error,
  value,
  onChange,
  warnDiscontinued = false,
}: {
  readonly label: string;
  readonly error: string | undefined;
  readonly value: string;
  readonly onChange: (sku: string) => void;
  /** Orders of a discontinued product may be refused; a shelf may still hold some, so counts do not warn. */
  readonly warnDiscontinued?: boolean;
}) {
  return (
    <Field label={label} error={error}>
      {(control) => (
        <select {...control} value={value} onChange={(event) => onChange(event.target.value)}>
          <option value="">Choose a product…</option>
          {catalog.map((product) => (
            <option key={product.sku} value={product.sku}>
              {product.name} — {product.sku}
              {warnDiscontinued && isDiscontinued(product.sku) ? ' (may be refused)' : ''}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
