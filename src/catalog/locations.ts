/**
 * The stock locations shipped with the app, offered when a count starts (a person may type another code:
 * the server judges a location it has no expected stock for as holding none).
 */
export const LOCATIONS: readonly { readonly code: string; readonly name: string }[] = [
  { code: 'STORE-01', name: 'Shop floor, main store' },
  { code: 'STORE-02', name: 'Shop floor, station kiosk' },
  { code: 'WH-01', name: 'Stockroom' },
];
