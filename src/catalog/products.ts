import * as v from 'valibot';
import { ProductNameSchema, SkuSchema, UnitPriceSchema } from '../orders/domain/fields';

/**
 * The product catalog shipped inside the app bundle, so order entry works with no network at all. Prices
 * are integer minor units of the order's currency (the catalog is currency-neutral demo data: 1250 is
 * 12.50 of whatever the order is in). `DISC-` products are discontinued: the app still offers them, because
 * a device that was offline for weeks may not know, and the server rejects orders that hold them.
 */
export const CatalogProductSchema = v.strictObject({
  sku: SkuSchema,
  name: ProductNameSchema,
  unitPrice: UnitPriceSchema,
});
export type CatalogProduct = v.InferOutput<typeof CatalogProductSchema>;

const PRODUCTS: readonly CatalogProduct[] = [
  { sku: 'COF-ESP-1KG', name: 'Espresso beans, 1 kg', unitPrice: 2490 },
  { sku: 'COF-FLT-500', name: 'Filter coffee, 500 g', unitPrice: 1190 },
  { sku: 'COF-DEC-500', name: 'Decaf beans, 500 g', unitPrice: 1350 },
  { sku: 'TEA-GRN-100', name: 'Green tea, 100 bags', unitPrice: 890 },
  { sku: 'TEA-BLK-100', name: 'Black tea, 100 bags', unitPrice: 790 },
  { sku: 'TEA-HRB-50', name: 'Herbal tea, 50 bags', unitPrice: 650 },
  { sku: 'MLK-OAT-1L', name: 'Oat drink, 1 l', unitPrice: 229 },
  { sku: 'MLK-WHL-1L', name: 'Whole milk, 1 l', unitPrice: 119 },
  { sku: 'SUG-CUB-1KG', name: 'Sugar cubes, 1 kg', unitPrice: 249 },
  { sku: 'CUP-PAP-250', name: 'Paper cups 250 ml, 50 pack', unitPrice: 599 },
  { sku: 'CUP-PAP-400', name: 'Paper cups 400 ml, 50 pack', unitPrice: 749 },
  { sku: 'LID-PAP-50', name: 'Cup lids, 50 pack', unitPrice: 349 },
  { sku: 'STR-BMB-100', name: 'Bamboo stirrers, 100 pack', unitPrice: 199 },
  { sku: 'NAP-WHT-500', name: 'Napkins, 500 pack', unitPrice: 899 },
  { sku: 'SYR-VAN-750', name: 'Vanilla syrup, 750 ml', unitPrice: 1090 },
  { sku: 'SYR-CAR-750', name: 'Caramel syrup, 750 ml', unitPrice: 1090 },
  { sku: 'CHO-PWD-1KG', name: 'Chocolate powder, 1 kg', unitPrice: 1590 },
  { sku: 'BIS-ALM-200', name: 'Almond biscuits, 200 g', unitPrice: 459 },
  { sku: 'BIS-GNG-200', name: 'Ginger biscuits, 200 g', unitPrice: 429 },
  { sku: 'FLT-PAP-100', name: 'Paper filters, 100 pack', unitPrice: 379 },
  { sku: 'CLN-DSC-120', name: 'Machine cleaning discs, 120', unitPrice: 2990 },
  { sku: 'CLN-DSC-MILK', name: 'Milk system cleaner, 1 l', unitPrice: 1890 },
  { sku: 'GRN-BRR-01', name: 'Burr grinder', unitPrice: 18900 },
  { sku: 'KET-GOO-1L', name: 'Gooseneck kettle, 1 l', unitPrice: 5490 },
  { sku: 'SCL-DIG-2KG', name: 'Digital scale, 2 kg', unitPrice: 3290 },
  { sku: 'TMP-58MM', name: 'Tamper, 58 mm', unitPrice: 2790 },
  { sku: 'JUG-STL-600', name: 'Milk jug, 600 ml', unitPrice: 1990 },
  { sku: 'DISC-SYR-HAZ', name: 'Hazelnut syrup, 750 ml (discontinued)', unitPrice: 990 },
  { sku: 'DISC-CUP-CER', name: 'Ceramic cup, old glaze (discontinued)', unitPrice: 690 },
  { sku: 'DISC-MCH-01', name: 'Single-group espresso machine (discontinued)', unitPrice: 94900 },
];

/** Checked once at load: a bad catalog entry would otherwise surface as a refused command much later. */
export const catalog: readonly CatalogProduct[] = v.parse(v.array(CatalogProductSchema), PRODUCTS);

const bySku = new Map(catalog.map((product) => [product.sku, product]));

export const findProduct = (sku: string): CatalogProduct | undefined => bySku.get(sku);

/** Discontinued products are still orderable offline; the server rejects the order (`discontinued_sku`). */
export const isDiscontinued = (sku: string): boolean => sku.startsWith('DISC-');
