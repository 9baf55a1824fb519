import { type KeyboardEvent, type Ref, useEffect, useId, useMemo, useRef, useState } from 'react';
import { type CatalogProduct, isDiscontinued } from '../../catalog/products';
import { searchCatalog } from '../../catalog/search';
import { formatMoney } from '../format';

/**
 * The product picker of an order or a stock count: a WAI-ARIA combobox (an input with a listbox popup, list autocomplete).
 * Typing filters the catalog by name or sku and highlights the best match; the arrows move the highlight;
 * Enter hands the typed text and the highlighted product to the form, which adds it; Escape closes the list,
 * or clears the text when it is closed; Tab, or a click on an option, puts the product's name in the box.
 *
 * Enter reads the text from the input itself, never from the last render: a scanner types a code and Enter
 * a few milliseconds apart.
 */
export interface ProductSearchProps {
  readonly label: string;
  /** The order's currency, for the prices; without it the list shows none (a stock count is about units). */
  readonly currency?: string | undefined;
  readonly value: string;
  readonly onChange: (text: string) => void;
  /** Enter in the box: the text as typed, and the product highlighted in an open list (null for none). */
  readonly onEnter: (text: string, highlighted: CatalogProduct | null) => void;
  readonly error?: string | undefined;
  /** What to know before adding (the server refuses discontinued products), said under the box. */
  readonly note?: string | undefined;
  /**
   * Whether a highlighted discontinued product is said to be refused by the server: an order's rule (the
   * default). A stock count counts what is on the shelf, discontinued or not, and says nothing of it.
   */
  readonly warnDiscontinued?: boolean;
  readonly inputRef?: Ref<HTMLInputElement>;
}

export function ProductSearch({
  label,
  currency,
  value,
  onChange,
  onEnter,
  error,
  note,
  warnDiscontinued = true,
  inputRef,
}: ProductSearchProps) {
  const id = useId();
  const listId = `${id}-list`;
  const [open, setOpen] = useState(false);
  /** The highlighted option by sku; null follows the best match. */
  const [pointed, setPointed] = useState<string | null>(null);
  const matches = useMemo(() => searchCatalog(value), [value]);
  const highlighted =
    matches.find((product) => product.sku === pointed) ?? (value.trim() ? (matches[0] ?? null) : null);
  const shown = open && matches.length > 0;
  const listRef = useRef<HTMLDivElement>(null);

  const optionId = (product: CatalogProduct) => `${id}-option-${product.sku}`;
  const activeId = shown && highlighted ? optionId(highlighted) : undefined;

  useEffect(() => {
    // Emptied (an add went through): the list closes; browsing the whole catalog takes an ArrowDown.
    if (!value) setOpen(false);
  }, [value]);

  useEffect(() => {
    if (!activeId) return;
    // Keeps the highlighted option in view as the arrows move through a list taller than its box.
    listRef.current?.querySelector(`[id="${CSS.escape(activeId)}"]`)?.scrollIntoView?.({ block: 'nearest' });
  }, [activeId]);

  const move = (by: 1 | -1) => {
    if (matches.length === 0) return;
    const at = highlighted ? matches.indexOf(highlighted) : -1;
    const next = matches[(at + by + matches.length) % matches.length];
    setPointed(next?.sku ?? null);
    setOpen(true);
  };

  const choose = (product: CatalogProduct) => {
    onChange(product.name);
    setPointed(product.sku);
    setOpen(false);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    switch (event.key) {
      case 'ArrowDown':
        event.preventDefault();
        if (!shown && highlighted) setOpen(true);
        else move(1);
        return;
      case 'ArrowUp':
        event.preventDefault();
        move(-1);
        return;
      case 'Enter': {
        event.preventDefault();
        const text = event.currentTarget.value;
        // A highlight belongs to the text it was made for: a scanner may have typed on since the last render.
        const current = shown && text === value ? highlighted : null;
        onEnter(text, current);
        setPointed(null);
        return;
      }
      case 'Escape':
        if (shown) {
          event.preventDefault();
          setOpen(false);
        } else if (value) {
          event.preventDefault();
          onChange('');
        }
        return;
      case 'Tab':
        if (shown && highlighted && value.trim()) choose(highlighted);
        return;
      default:
        return;
    }
  };

  const warning =
    warnDiscontinued && shown && highlighted && isDiscontinued(highlighted.sku)
      ? `${highlighted.name} is discontinued: it can be added, but the server will refuse an order that holds it.`
      : note;
  const hintId = `${id}-note`;
  const errorId = `${id}-error`;
  const describedBy =
    [warning ? hintId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined;
  const noMatch = open && value.trim() !== '' && matches.length === 0;

  return (
    <div className={error ? 'field field--invalid combobox' : 'field combobox'}>
      <label htmlFor={id}>{label}</label>
      <div className="combobox__anchor">
        <input
          ref={inputRef}
          id={id}
          type="text"
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={shown}
          aria-controls={listId}
          aria-activedescendant={activeId}
          aria-invalid={Boolean(error)}
          aria-describedby={describedBy}
          autoComplete="off"
          autoCapitalize="off"
          spellCheck={false}
          enterKeyHint="enter"
          placeholder="Name or code"
          value={value}
          onChange={(event) => {
            onChange(event.target.value);
            setPointed(null);
            setOpen(true);
          }}
          onKeyDown={onKeyDown}
          onFocus={() => setOpen(Boolean(value.trim()))}
          onBlur={() => setOpen(false)}
        />
        <div ref={listRef} id={listId} role="listbox" aria-label={`${label} matches`} hidden={!shown}>
          {shown
            ? matches.map((product) => (
                // biome-ignore lint/a11y/useFocusableInteractive: the input keeps the focus (aria-activedescendant).
                // biome-ignore lint/a11y/useKeyWithClickEvents: the input's keys choose; a click is the pointer's way.
                <div
                  key={product.sku}
                  id={optionId(product)}
                  role="option"
                  aria-selected={product === highlighted}
                  className="combobox__option"
                  // Keeps the focus in the box, so a click chooses without a blur closing the list first.
                  onMouseDown={(event) => event.preventDefault()}
                  onClick={() => choose(product)}
                >
                  <span className="combobox__name">{product.name}</span>
                  <span className="combobox__meta">
                    <span className="sku">{product.sku}</span>
                    {isDiscontinued(product.sku) ? <span className="tag tag--warn">Discontinued</span> : null}
                    {currency ? (
                      <span className="combobox__price">{formatMoney(product.unitPrice, currency)}</span>
                    ) : null}
                  </span>
                </div>
              ))
            : null}
        </div>
      </div>
      <p className="visually-hidden" role="status">
        {noMatch ? `No product matches “${value.trim()}”` : shown ? `${matches.length} products match` : ''}
      </p>
      {noMatch && !error ? (
        <p className="combobox__empty" aria-hidden="true">
          No product matches “{value.trim()}”
        </p>
      ) : null}
      {warning ? (
        <p className="field__hint field__hint--warn" id={hintId}>
          {warning}
        </p>
      ) : null}
      {error ? (
        <p className="field__error" id={errorId}>
          {error}
        </p>
      ) : null}
    </div>
  );
}
