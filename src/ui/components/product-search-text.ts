import type { CatalogProduct } from '../../catalog/products';
import { resolveProduct } from '../../catalog/search';

/**
 * Why the text typed in a product search names no one product, said next to the box (the text stays for the
 * person to fix); empty when it names one. Shared by every form that takes a product from the search.
 */
export function unresolvedProductText(text: string): string {
  const resolution = resolveProduct(text);
  switch (resolution.kind) {
    case 'empty':
      return 'Type a product name or code';
    case 'none':
      return `No product matches “${text.trim()}”: check the code, or search by name`;
    case 'several':
      return `${resolution.count} products match “${text.trim()}”: choose one from the list`;
    case 'found':
      return '';
    default: {
      const unknown: never = resolution;
      return unknown;
    }
  }
}

/**
 * The product a search's Enter or its form's button takes: the highlighted option, else the one product the
 * text names; null when it names no one product (`unresolvedProductText` says why).
 */
export function chosenProduct(
  text: string,
  highlighted: CatalogProduct | null = null,
): CatalogProduct | null {
  if (highlighted) return highlighted;
  const resolution = resolveProduct(text);
  return resolution.kind === 'found' ? resolution.product : null;
}
