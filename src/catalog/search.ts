import { type CatalogProduct, catalog } from './products';

/**
 * Finding a product as a person types: by sku (what a scanner types) or by words of its name. Pure, over the
 * catalog shipped in the bundle, so it answers offline and between two keystrokes.
 */

/** How well a product matches, lower first: an exact code beats a prefix, a prefix beats a word inside. */
function rank(product: CatalogProduct, query: string): number | null {
  const sku = product.sku.toLowerCase();
  const name = product.name.toLowerCase();
  const terms = query.split(/\s+/).filter(Boolean);
  if (!terms.every((term) => sku.includes(term) || name.includes(term))) return null;
  if (sku === query || name === query) return 0;
  if (sku.startsWith(query)) return 1;
  if (name.startsWith(query)) return 2;
  if (name.split(/[\s,]+/).some((word) => word.startsWith(terms[0] ?? query))) return 3;
  return 4;
}

const normalise = (text: string): string => text.trim().toLowerCase().replace(/\s+/g, ' ');

/** The products matching `text`, best first and in catalog order among equals; every product for no text. */
export function searchCatalog(text: string, products: readonly CatalogProduct[] = catalog): CatalogProduct[] {
  const query = normalise(text);
  if (!query) return [...products];
  return products
    .map((product, index) => ({ product, index, score: rank(product, query) }))
    .filter(
      (match): match is { product: CatalogProduct; index: number; score: number } => match.score !== null,
    )
    .sort((a, b) => a.score - b.score || a.index - b.index)
    .map((match) => match.product);
}

/** What the typed text names: one product, nothing, several (the person must choose), or no text at all. */
export type Resolution =
  | { readonly kind: 'found'; readonly product: CatalogProduct }
  | { readonly kind: 'none' }
  | { readonly kind: 'several'; readonly count: number }
  | { readonly kind: 'empty' };

/**
 * The one product `text` stands for when nobody pointed at one: its exact sku or name, or the only match.
 * A list of several is a choice the app does not make for the person.
 */
export function resolveProduct(text: string, products: readonly CatalogProduct[] = catalog): Resolution {
  const query = normalise(text);
  if (!query) return { kind: 'empty' };
  const matches = searchCatalog(query, products);
  const exact = matches.find(
    (product) => product.sku.toLowerCase() === query || product.name.toLowerCase() === query,
  );
  if (exact) return { kind: 'found', product: exact };
  const [only] = matches;
  if (matches.length === 1 && only) return { kind: 'found', product: only };
  return matches.length === 0 ? { kind: 'none' } : { kind: 'several', count: matches.length };
}
