import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import { storeConformance } from "./store.conformance.ts"
import { DIMENSIONS } from "./support/records.ts"

storeConformance("pglite", PgliteStore.layer({ dataDir: "memory://", dimensions: DIMENSIONS }))
