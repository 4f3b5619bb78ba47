/** A worker thread answering one share of the exact searches (see groundTruth.ts). */
import { parentPort, workerData } from "node:worker_threads"
import { exactSearch, type ExactInput } from "./exactSearch.ts"

const out = exactSearch(workerData as ExactInput)
parentPort!.postMessage(out, [out.all.buffer as ArrayBuffer, out.p1.buffer as ArrayBuffer, out.p10.buffer as ArrayBuffer])
