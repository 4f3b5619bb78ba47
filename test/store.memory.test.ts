import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import { storeConformance } from "./store.conformance.ts"
import { DIMENSIONS } from "./support/records.ts"

storeConformance("memory", InMemoryStore.layer({ dimensions: DIMENSIONS }))
