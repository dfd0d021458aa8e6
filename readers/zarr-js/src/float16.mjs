// zarr.js reads float16 only when a global Float16Array exists when it is loaded (its error:
// "In order to access this dataset you must make Float16Array available as a global");
// Node 20 has none, so, as its users do, the adapter installs the polyfill first. This module
// is imported before zarr.js (ES modules are evaluated in the order they are imported).
import { Float16Array } from "@petamoriken/float16";

globalThis.Float16Array ??= Float16Array;
