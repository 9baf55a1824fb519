// Must load before Dexie: it installs indexedDB and IDBKeyRange on the global scope.
import 'fake-indexeddb/auto';
